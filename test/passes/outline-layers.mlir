// Each distinct layer is generated once: layers 0 and 1 run width 4 and
// share @decoder_layer_ffn4; layer 2 (width 16) gets its own function. Each
// call passes the layer's input, its weights, the caches, its cache slot and
// the start position.
// RUN: sed 's/-> tensor<?x16xf32> {/-> tensor<?x16xf32> attributes {matformer.mix = #matformer.mix<[4, 4, 16]>} {/' %S/Inputs/universal-3layer.mlir | matc-opt --matformer-specialize-mix --matformer-weights-to-arguments --matformer-bind-runtime-abi --matformer-outline-layers | FileCheck %s
// An elastic model needs one layer function with a run-time width.
// RUN: sed 's/-> tensor<?x16xf32> {/-> tensor<?x16xf32> attributes {matformer.elastic} {/' %S/Inputs/universal-3layer.mlir | matc-opt --matformer-weights-to-arguments --matformer-bind-runtime-abi --matformer-outline-layers | FileCheck %s --check-prefix=ELASTIC
// RUN: matc-opt %s --matformer-outline-layers | FileCheck %s --check-prefix=DIFFER

// CHECK: func.func private @decoder_layer_ffn4(%[[X:.*]]: tensor<?x8xf32>, {{.*}}) -> tensor<?x8xf32> {
// CHECK-NOT: matformer.decoder_layer
// CHECK: matformer.nested_ffn {{.*}} width 4 :
// CHECK: return
// CHECK: func.func private @decoder_layer_ffn16(
// CHECK: matformer.nested_ffn {{.*}} width 16 :
// CHECK-NOT: func.func private
// CHECK: func.func @matc_forward_impl(
// CHECK: %[[S0:.*]] = arith.constant 0 : index
// CHECK: %[[L0:.*]] = call @decoder_layer_ffn4(%{{.*}}, %{{.*}}, %{{.*}}, %[[S0]],
// CHECK: %[[S1:.*]] = arith.constant 1 : index
// CHECK: %[[L1:.*]] = call @decoder_layer_ffn4(%[[L0]], %{{.*}}, %{{.*}}, %[[S1]],
// CHECK: call @decoder_layer_ffn16(%[[L1]],
// CHECK-NOT: matformer.decoder_layer

// ELASTIC-COUNT-1: func.func private @decoder_layer_ffn_dynamic(
// ELASTIC-NOT: func.func private
// ELASTIC: scf.if
// ELASTIC: call @decoder_layer_ffn_dynamic(
// ELASTIC: scf.if
// ELASTIC: call @decoder_layer_ffn_dynamic(
// ELASTIC: scf.if
// ELASTIC: call @decoder_layer_ffn_dynamic(

// Same width, different epsilon: two functions (the second name is made
// unique), because their bodies compute different things.
// DIFFER: func.func private @decoder_layer_ffn4(
// DIFFER: eps(1.000000e-05)
// DIFFER: func.func private @decoder_layer_ffn4_0(
// DIFFER: eps(2.000000e-05)
// DIFFER: func.func @two_layers(
// DIFFER: call @decoder_layer_ffn4(
// DIFFER: call @decoder_layer_ffn4_0(
func.func @two_layers(%x: tensor<?x8xf32>, %n: tensor<8xf32>, %g: tensor<16x8xf32>, %d: tensor<8x16xf32>) -> tensor<?x8xf32> {
  %a = matformer.decoder_layer 0 (%x) : tensor<?x8xf32> {
  ^bb0(%h: tensor<?x8xf32>):
    %m = matformer.rms_norm %h, %n eps(1.0e-5) : tensor<?x8xf32>, tensor<8xf32>
    %f = matformer.nested_ffn %m, %g, %g, %d act silu width 4 : tensor<?x8xf32>, tensor<16x8xf32>, tensor<16x8xf32>, tensor<8x16xf32>
    matformer.yield %f : tensor<?x8xf32>
  }
  %b = matformer.decoder_layer 1 (%a) : tensor<?x8xf32> {
  ^bb0(%h: tensor<?x8xf32>):
    %m = matformer.rms_norm %h, %n eps(2.0e-5) : tensor<?x8xf32>, tensor<8xf32>
    %f = matformer.nested_ffn %m, %g, %g, %d act silu width 4 : tensor<?x8xf32>, tensor<16x8xf32>, tensor<16x8xf32>, tensor<8x16xf32>
    matformer.yield %f : tensor<?x8xf32>
  }
  return %b : tensor<?x8xf32>
}
