// The universal model specialized by the mix its function carries. MIX text
// (S, g2, @file.json, ...) is parsed by the driver (test/tools/bad-mix.test,
// test/importer/); the pass sees only #matformer.mix attributes.
// RUN: sed 's/-> tensor<?x16xf32> {/-> tensor<?x16xf32> attributes {matformer.mix = #matformer.mix<[16, 16, 16]>} {/' %S/Inputs/universal-3layer.mlir | matc-opt --matformer-specialize-mix | FileCheck %s --check-prefix=XL
// RUN: sed 's/-> tensor<?x16xf32> {/-> tensor<?x16xf32> attributes {matformer.mix = #matformer.mix<[2, 4, 8]>} {/' %S/Inputs/universal-3layer.mlir | matc-opt --matformer-specialize-mix | FileCheck %s --check-prefix=NAMES
// RUN: sed 's/-> tensor<?x16xf32> {/-> tensor<?x16xf32> attributes {matformer.mix = #matformer.mix<[2, 0, 16]>} {/' %S/Inputs/universal-3layer.mlir | matc-opt --matformer-specialize-mix | FileCheck %s --check-prefix=ZERO
// RUN: sed 's/-> tensor<?x16xf32> {/-> tensor<?x16xf32> attributes {matformer.mix = #matformer.mix<[2, skip, 16]>} {/' %S/Inputs/universal-3layer.mlir | matc-opt --matformer-specialize-mix | FileCheck %s --check-prefix=SKIP
// RUN: matc-opt %S/Inputs/universal-3layer.mlir --matformer-specialize-mix | FileCheck %s --check-prefix=NONE
// RUN: matc-opt %s --matformer-specialize-mix | FileCheck %s --check-prefix=TWO
// Specializing twice changes nothing the second time.
// RUN: sed 's/-> tensor<?x16xf32> {/-> tensor<?x16xf32> attributes {matformer.mix = #matformer.mix<[2, 4, 8]>} {/' %S/Inputs/universal-3layer.mlir | matc-opt --matformer-specialize-mix --matformer-specialize-mix | FileCheck %s --check-prefix=NAMES

// XL: func.func @forward({{.*}} attributes {matformer.mix = #matformer.mix<[16, 16, 16]>}
// XL-COUNT-3: act silu granularities <[2, 4, 8, 16]> width 16 :
// XL-NOT: nested_ffn

// NAMES: decoder_layer 0
// NAMES: nested_ffn {{.*}} width 2 :
// NAMES: decoder_layer 1
// NAMES: nested_ffn {{.*}} width 4 :
// NAMES: decoder_layer 2
// NAMES: nested_ffn {{.*}} width 8 :

// Width 0: layer 1 keeps its attention, loses its FFN, post-attention norm
// and residual add.
// ZERO: decoder_layer 1
// ZERO: matformer.attention
// ZERO-NEXT: %[[R:.*]] = arith.addf
// ZERO-NEXT: matformer.yield %[[R]]
// ZERO: decoder_layer 2
// ZERO: nested_ffn {{.*}} width 16 :

// skip: layer 1 is gone, layer 2 keeps its index and its weights' names.
// SKIP: %[[L0:.*]] = matformer.decoder_layer 0
// SKIP-NOT: decoder_layer 1
// SKIP: matformer.decoder_layer 2(%[[L0]])
// SKIP: get_weight @model.layers.2.mlp.gate_proj.weight

// No mix on the function: it stays universal.
// NONE-COUNT-3: granularities <[2, 4, 8, 16]> :
// NONE-NOT: width

// One module, two submodels of the same universal layer.
// TWO-LABEL: func.func @forward_S(
// TWO: nested_ffn {{.*}} width 2 :
// TWO-LABEL: func.func @forward_XL(
// TWO: nested_ffn {{.*}} width 16 :
// TWO-LABEL: func.func @universal(
// TWO: nested_ffn {{.*}} granularities <[2, 4, 8, 16]> :
module {
  func.func @forward_S(%x: tensor<?x8xf32>, %g: tensor<16x8xf32>, %d: tensor<8x16xf32>) -> tensor<?x8xf32>
      attributes {matformer.mix = #matformer.mix<[2]>} {
    %y = matformer.decoder_layer 0 (%x) : tensor<?x8xf32> {
    ^bb0(%h: tensor<?x8xf32>):
      %f = matformer.nested_ffn %h, %g, %g, %d act silu granularities <[2, 4, 8, 16]> : tensor<?x8xf32>, tensor<16x8xf32>, tensor<16x8xf32>, tensor<8x16xf32>
      matformer.yield %f : tensor<?x8xf32>
    }
    return %y : tensor<?x8xf32>
  }
  func.func @forward_XL(%x: tensor<?x8xf32>, %g: tensor<16x8xf32>, %d: tensor<8x16xf32>) -> tensor<?x8xf32>
      attributes {matformer.mix = #matformer.mix<[16]>} {
    %y = matformer.decoder_layer 0 (%x) : tensor<?x8xf32> {
    ^bb0(%h: tensor<?x8xf32>):
      %f = matformer.nested_ffn %h, %g, %g, %d act silu granularities <[2, 4, 8, 16]> : tensor<?x8xf32>, tensor<16x8xf32>, tensor<16x8xf32>, tensor<8x16xf32>
      matformer.yield %f : tensor<?x8xf32>
    }
    return %y : tensor<?x8xf32>
  }
  func.func @universal(%x: tensor<?x8xf32>, %g: tensor<16x8xf32>, %d: tensor<8x16xf32>) -> tensor<?x8xf32> {
    %y = matformer.decoder_layer 0 (%x) : tensor<?x8xf32> {
    ^bb0(%h: tensor<?x8xf32>):
      %f = matformer.nested_ffn %h, %g, %g, %d act silu granularities <[2, 4, 8, 16]> : tensor<?x8xf32>, tensor<16x8xf32>, tensor<16x8xf32>, tensor<8x16xf32>
      matformer.yield %f : tensor<?x8xf32>
    }
    return %y : tensor<?x8xf32>
  }
}
