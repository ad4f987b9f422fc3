// RUN: matc-opt %s -split-input-file -verify-diagnostics --matformer-add-training-losses="granularities=4,16" | FileCheck %s

// One loss function per granularity: the forward on tokens[0, n), the mean
// cross entropy against tokens[1, n + 1), a uniform mix clamped to each
// layer's d_ff (layer 1 has d_ff 8), marked for reverse mode.
// CHECK: func.func private @training_loss_0(%[[TOKENS:.*]]: tensor<?xi32>) -> tensor<f32>
// CHECK-SAME: matformer.differentiate
// CHECK-SAME: matformer.granularity = 0 : i64
// CHECK-SAME: matformer.mix = #matformer.mix<[4, 4]>
// CHECK: %[[LEN:.*]] = tensor.dim %[[TOKENS]], %{{.*}}
// CHECK: %[[N:.*]] = arith.subi %[[LEN]], %{{.*}}
// CHECK: %[[IN:.*]] = tensor.extract_slice %[[TOKENS]][0] [%[[N]]] [1]
// CHECK: matformer.embed %[[IN]]
// CHECK: %[[LOGITS:.*]] = matformer.lm_head
// CHECK: %[[TARGETS:.*]] = tensor.extract_slice %[[TOKENS]][1] [%[[N]]] [1]
// CHECK: %[[LOSS:.*]] = matformer.cross_entropy %[[LOGITS]], %[[TARGETS]] reduction mean
// CHECK: return %[[LOSS]] : tensor<f32>
// CHECK: func.func private @training_loss_1
// CHECK-SAME: matformer.granularity = 1 : i64
// CHECK-SAME: matformer.mix = #matformer.mix<[16, 8]>
// The forward stays.
// CHECK-LABEL: func.func @forward
matformer.weight @"model.embed_tokens.weight" : tensor<32x8xf32>
matformer.weight @"model.layers.0.mlp.gate_proj.weight" : tensor<16x8xf32>
matformer.weight @"model.layers.0.mlp.up_proj.weight" : tensor<16x8xf32>
matformer.weight @"model.layers.0.mlp.down_proj.weight" : tensor<8x16xf32>
matformer.weight @"model.layers.1.mlp.gate_proj.weight" : tensor<8x8xf32>
matformer.weight @"model.layers.1.mlp.up_proj.weight" : tensor<8x8xf32>
matformer.weight @"model.layers.1.mlp.down_proj.weight" : tensor<8x8xf32>
func.func @forward(%tokens: tensor<?xi32>) -> tensor<?x32xf32> {
  %table = matformer.get_weight @"model.embed_tokens.weight" : tensor<32x8xf32>
  %h = matformer.embed %tokens, %table : tensor<?xi32>, tensor<32x8xf32> -> tensor<?x8xf32>
  %h1 = matformer.decoder_layer 0 (%h) : tensor<?x8xf32> {
  ^bb0(%x: tensor<?x8xf32>):
    %g = matformer.get_weight @"model.layers.0.mlp.gate_proj.weight" : tensor<16x8xf32>
    %u = matformer.get_weight @"model.layers.0.mlp.up_proj.weight" : tensor<16x8xf32>
    %d = matformer.get_weight @"model.layers.0.mlp.down_proj.weight" : tensor<8x16xf32>
    %f = matformer.nested_ffn %x, %g, %u, %d act silu : tensor<?x8xf32>, tensor<16x8xf32>, tensor<16x8xf32>, tensor<8x16xf32>
    %r = arith.addf %x, %f : tensor<?x8xf32>
    matformer.yield %r : tensor<?x8xf32>
  }
  %h2 = matformer.decoder_layer 1 (%h1) : tensor<?x8xf32> {
  ^bb0(%x: tensor<?x8xf32>):
    %g = matformer.get_weight @"model.layers.1.mlp.gate_proj.weight" : tensor<8x8xf32>
    %u = matformer.get_weight @"model.layers.1.mlp.up_proj.weight" : tensor<8x8xf32>
    %d = matformer.get_weight @"model.layers.1.mlp.down_proj.weight" : tensor<8x8xf32>
    %f = matformer.nested_ffn %x, %g, %u, %d act silu : tensor<?x8xf32>, tensor<8x8xf32>, tensor<8x8xf32>, tensor<8x8xf32>
    %r = arith.addf %x, %f : tensor<?x8xf32>
    matformer.yield %r : tensor<?x8xf32>
  }
  %logits = matformer.lm_head %h2, %table : tensor<?x8xf32>, tensor<32x8xf32> -> tensor<?x32xf32>
  return %logits : tensor<?x32xf32>
}

// -----

matformer.weight @"model.layers.0.mlp.gate_proj.weight" : tensor<16x8xf32>
matformer.weight @"model.layers.0.mlp.up_proj.weight" : tensor<16x8xf32>
matformer.weight @"model.layers.0.mlp.down_proj.weight" : tensor<8x16xf32>
// expected-error @+1 {{must be the universal model (no FFN widths yet) to build training losses from}}
func.func @forward(%tokens: tensor<?xi32>) -> tensor<?x8xf32> {
  %z = arith.constant dense<0.0> : tensor<2x8xf32>
  %x = tensor.cast %z : tensor<2x8xf32> to tensor<?x8xf32>
  %g = matformer.get_weight @"model.layers.0.mlp.gate_proj.weight" : tensor<16x8xf32>
  %u = matformer.get_weight @"model.layers.0.mlp.up_proj.weight" : tensor<16x8xf32>
  %d = matformer.get_weight @"model.layers.0.mlp.down_proj.weight" : tensor<8x16xf32>
  %f = matformer.nested_ffn %x, %g, %u, %d act silu width 4 : tensor<?x8xf32>, tensor<16x8xf32>, tensor<16x8xf32>, tensor<8x16xf32>
  return %f : tensor<?x8xf32>
}

// -----

// expected-error @+1 {{expected the universal func.func @forward(tensor<?xi32>) -> tensor<?xVxf32> to train}}
module {
  func.func @other(%tokens: tensor<?xi32>) {
    return
  }
}
