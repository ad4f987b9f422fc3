// RUN: matc-opt %S/Inputs/universal-3layer.mlir --matformer-specialize-mix="mix=S,skip,XL" --matformer-bind-runtime-abi | FileCheck %s
// RUN: matc-opt %s -split-input-file -verify-diagnostics --matformer-bind-runtime-abi

// Weights become arguments in first-use order; skipped layer 1's are gone.
// CHECK: module attributes {matformer.abi.weights = ["model.embed_tokens.weight", "model.layers.0.input_layernorm.weight",
// CHECK-NOT: model.layers.1.
// CHECK-SAME: "model.layers.2.mlp.down_proj.weight", "model.norm.weight"]
// CHECK-NOT: matformer.weight
// CHECK-NOT: func.func @forward
// Fixed arguments: token count, start position, tokens, logits, K and V caches
// for the 2 kept layers (max_positions 32, 1 KV head of 4; K a row per
// position, V positions innermost), the per-layer
// widths (unused when specialized), then 20 weights.
// CHECK: func.func @matc_forward_impl(%[[T:[a-z0-9_]+]]: index, %[[POS:[a-z0-9_]+]]: index, %[[TOK:[a-z0-9_]+]]: memref<32xi32>, %[[LOGITS:[a-z0-9_]+]]: memref<32x16xf32>, %[[KC:[a-z0-9_]+]]: memref<2x32x1x4xf32>, %[[VC:[a-z0-9_]+]]: memref<2x1x4x32xf32>, %{{[a-z0-9_]+}}: memref<3xi64>, %[[EMB:[a-z0-9_]+]]: memref<16x8xf32>,
// CHECK-SAME: %{{.*}}: memref<8xf32>) {
// CHECK: %[[TOKV:.*]] = memref.subview %[[TOK]][0] [%[[T]]] [1]
// CHECK: %[[TOKT:.*]] = bufferization.to_tensor %[[TOKV]] restrict
// CHECK: %[[EMBT:.*]] = bufferization.to_tensor %[[EMB]] restrict : memref<16x8xf32> to tensor<16x8xf32>
// CHECK-NOT: get_weight
// CHECK: matformer.embed %[[TOKT]], %[[EMBT]]
// The first kept layer uses cache slot 0, layer 2 uses slot 1.
// CHECK: matformer.decoder_layer 0
// CHECK: %[[K0:.*]] = memref.subview %[[KC]][0, 0, 0, 0] [1, 32, 1, 4] [1, 1, 1, 1]
// CHECK: %[[V0:.*]] = memref.subview %[[VC]][0, 0, 0, 0] [1, 1, 4, 32] [1, 1, 1, 1]
// CHECK: matformer.attention {{.*}} kv_cache(%[[K0]], %[[V0]]) at %[[POS]]
// CHECK: matformer.decoder_layer 2
// CHECK: memref.subview %[[KC]][1, 0, 0, 0] [1, 32, 1, 4] [1, 1, 1, 1] {{.*}} offset: 128
// CHECK: kv_cache(
// CHECK: %[[OUT:.*]] = memref.subview %[[LOGITS]][0, 0] [%[[T]], 16] [1, 1]
// CHECK: bufferization.materialize_in_destination %{{.*}} in restrict writable %[[OUT]]
// CHECK-NEXT: return

// expected-error @+1 {{missing matformer.max_positions}}
module {
  func.func @forward(%t: tensor<?xi32>) -> tensor<?x4xf32> {
    %c = arith.constant 1 : index
    %0 = tensor.empty(%c) : tensor<?x4xf32>
    return %0 : tensor<?x4xf32>
  }
}

// -----

// expected-error @+1 {{expected func.func @forward(tensor<?xi32>) -> tensor<?xVxf32> to bind to the runtime}}
module attributes {matformer.max_positions = 8 : i64} {
  func.func @other() {
    return
  }
}

// -----

module attributes {matformer.max_positions = 8 : i64} {
  matformer.weight @"model.layers.0.mlp.gate_proj.weight" : tensor<16x8xf32>
  matformer.weight @"model.layers.0.mlp.down_proj.weight" : tensor<8x16xf32>
  matformer.weight @"model.embed_tokens.weight" : tensor<4x8xf32>
  func.func @forward(%t: tensor<?xi32>) -> tensor<?x4xf32> {
    %e = matformer.get_weight @"model.embed_tokens.weight" : tensor<4x8xf32>
    %x = matformer.embed %t, %e : tensor<?xi32>, tensor<4x8xf32> -> tensor<?x8xf32>
    %a = matformer.decoder_layer 0 (%x) : tensor<?x8xf32> {
    ^bb0(%y: tensor<?x8xf32>):
      %g = matformer.get_weight @"model.layers.0.mlp.gate_proj.weight" : tensor<16x8xf32>
      %d = matformer.get_weight @"model.layers.0.mlp.down_proj.weight" : tensor<8x16xf32>
      // expected-error @+1 {{has no width: apply a MIX (matformer-specialize-mix) first}}
      %f = matformer.nested_ffn %y, %g, %g, %d act silu : tensor<?x8xf32>, tensor<16x8xf32>, tensor<16x8xf32>, tensor<8x16xf32>
      matformer.yield %f : tensor<?x8xf32>
    }
    %l = matformer.lm_head %a, %e : tensor<?x8xf32>, tensor<4x8xf32> -> tensor<?x4xf32>
    return %l : tensor<?x4xf32>
  }
}
