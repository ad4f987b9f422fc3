// RUN: matc-opt %S/Inputs/universal-3layer.mlir --matformer-verify-nesting | FileCheck %s
// RUN: sed 's/-> tensor<?x16xf32> {/-> tensor<?x16xf32> attributes {matformer.mix = #matformer.mix<[2, skip, 9]>} {/' %S/Inputs/universal-3layer.mlir | matc-opt --matformer-specialize-mix --matformer-verify-nesting 2>&1 | FileCheck %s --check-prefix=WARN --implicit-check-not=warning:
// RUN: sed 's/-> tensor<?x16xf32> {/-> tensor<?x16xf32> attributes {matformer.mix = #matformer.mix<[2, skip, 9]>} {/' %S/Inputs/universal-3layer.mlir | not matc-opt --matformer-specialize-mix --matformer-verify-nesting="require-trained-widths" 2>&1 | FileCheck %s --check-prefix=STRICT
// RUN: matc-opt %s -split-input-file -verify-diagnostics --matformer-verify-nesting

// A well-formed universal model passes unchanged.
// CHECK: matformer.decoder_layer 2

// The driver's MIX parser warns about the untrained width (test/importer);
// specialization and the check stay quiet.
// WARN: matformer.decoder_layer 2
// WARN: nested_ffn {{.*}} width 9 :
// STRICT: error: 'matformer.nested_ffn' op width 9 is not a trained granularity

func.func @layers_out_of_order(%x: tensor<?x8xf32>) -> tensor<?x8xf32> {
  %a = matformer.decoder_layer 1 (%x) : tensor<?x8xf32> {
  ^bb0(%y: tensor<?x8xf32>):
    matformer.yield %y : tensor<?x8xf32>
  }
  // expected-error @+1 {{has index 1, expected an index greater than 1 (layers run in order)}}
  %b = matformer.decoder_layer 1 (%a) : tensor<?x8xf32> {
  ^bb0(%y: tensor<?x8xf32>):
    matformer.yield %y : tensor<?x8xf32>
  }
  return %b : tensor<?x8xf32>
}

// -----

matformer.weight @"model.layers.1.mlp.gate_proj.weight" : tensor<16x8xf32>
matformer.weight @"model.layers.0.mlp.up_proj.weight" : tensor<16x8xf32>
matformer.weight @"model.layers.0.mlp.down_proj.weight" : tensor<8x16xf32>
func.func @wrong_layer_weights(%x: tensor<?x8xf32>) -> tensor<?x8xf32> {
  %a = matformer.decoder_layer 0 (%x) : tensor<?x8xf32> {
  ^bb0(%y: tensor<?x8xf32>):
    %g = matformer.get_weight @"model.layers.1.mlp.gate_proj.weight" : tensor<16x8xf32>
    %u = matformer.get_weight @"model.layers.0.mlp.up_proj.weight" : tensor<16x8xf32>
    %d = matformer.get_weight @"model.layers.0.mlp.down_proj.weight" : tensor<8x16xf32>
    // expected-error @+1 {{in layer 0 reads 'model.layers.1.mlp.gate_proj.weight' as its gate_proj, expected 'model.layers.0.mlp.gate_proj.weight'}}
    %f = matformer.nested_ffn %y, %g, %u, %d act silu width 4 : tensor<?x8xf32>, tensor<16x8xf32>, tensor<16x8xf32>, tensor<8x16xf32>
    matformer.yield %f : tensor<?x8xf32>
  }
  return %a : tensor<?x8xf32>
}

// -----

func.func @ffn_outside_layer(%x: tensor<?x8xf32>, %g: tensor<16x8xf32>, %d: tensor<8x16xf32>) -> tensor<?x8xf32> {
  // expected-error @+1 {{must be inside a matformer.decoder_layer}}
  %f = matformer.nested_ffn %x, %g, %g, %d act silu width 4 : tensor<?x8xf32>, tensor<16x8xf32>, tensor<16x8xf32>, tensor<8x16xf32>
  return %f : tensor<?x8xf32>
}

// -----

func.func @granularities_differ(%x: tensor<?x8xf32>, %g: tensor<16x8xf32>, %d: tensor<8x16xf32>) -> tensor<?x8xf32> {
  %a = matformer.decoder_layer 0 (%x) : tensor<?x8xf32> {
  ^bb0(%y: tensor<?x8xf32>):
    %f = matformer.nested_ffn %y, %g, %g, %d act silu granularities <[4, 16]> width 4 : tensor<?x8xf32>, tensor<16x8xf32>, tensor<16x8xf32>, tensor<8x16xf32>
    matformer.yield %f : tensor<?x8xf32>
  }
  %b = matformer.decoder_layer 1 (%a) : tensor<?x8xf32> {
  ^bb0(%y: tensor<?x8xf32>):
    // expected-error @+1 {{has granularities #matformer.granularities<[8, 16]> but an earlier layer has #matformer.granularities<[4, 16]>: one model has one set of granularities}}
    %f = matformer.nested_ffn %y, %g, %g, %d act silu granularities <[8, 16]> width 8 : tensor<?x8xf32>, tensor<16x8xf32>, tensor<16x8xf32>, tensor<8x16xf32>
    matformer.yield %f : tensor<?x8xf32>
  }
  return %b : tensor<?x8xf32>
}

// -----

module {
  func.func @mix_disagrees(%x: tensor<?x8xf32>, %g: tensor<16x8xf32>, %d: tensor<8x16xf32>) -> tensor<?x8xf32>
      attributes {matformer.mix = #matformer.mix<[8, skip]>} {
    %a = matformer.decoder_layer 0 (%x) : tensor<?x8xf32> {
    ^bb0(%y: tensor<?x8xf32>):
      // expected-error @+1 {{runs at width 4, expected 8 from matformer.mix}}
      %f = matformer.nested_ffn %y, %g, %g, %d act silu width 4 : tensor<?x8xf32>, tensor<16x8xf32>, tensor<16x8xf32>, tensor<8x16xf32>
      matformer.yield %f : tensor<?x8xf32>
    }
    // expected-error @+1 {{is present but matformer.mix skips it}}
    %b = matformer.decoder_layer 1 (%a) : tensor<?x8xf32> {
    ^bb0(%y: tensor<?x8xf32>):
      matformer.yield %y : tensor<?x8xf32>
    }
    return %b : tensor<?x8xf32>
  }
}

// -----

// Weights passed as arguments are checked by their matformer.weight names.
func.func @argument_weights(%x: tensor<?x8xf32>,
    %g: tensor<16x8xf32> {matformer.weight = "model.layers.0.mlp.gate_proj.weight"},
    %u: tensor<16x8xf32> {matformer.weight = "model.layers.1.mlp.up_proj.weight"},
    %d: tensor<8x16xf32> {matformer.weight = "model.layers.0.mlp.down_proj.weight"}) -> tensor<?x8xf32> {
  %a = matformer.decoder_layer 0 (%x) : tensor<?x8xf32> {
  ^bb0(%y: tensor<?x8xf32>):
    // expected-error @+1 {{in layer 0 reads 'model.layers.1.mlp.up_proj.weight' as its up_proj, expected 'model.layers.0.mlp.up_proj.weight'}}
    %f = matformer.nested_ffn %y, %g, %u, %d act silu width 8 : tensor<?x8xf32>, tensor<16x8xf32>, tensor<16x8xf32>, tensor<8x16xf32>
    matformer.yield %f : tensor<?x8xf32>
  }
  return %a : tensor<?x8xf32>
}
