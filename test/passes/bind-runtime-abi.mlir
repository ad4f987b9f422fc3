// RUN: sed 's/-> tensor<?x16xf32> {/-> tensor<?x16xf32> attributes {matformer.mix = #matformer.mix<[2, skip, 16]>} {/' %S/Inputs/universal-3layer.mlir | matc-opt --matformer-specialize-mix --matformer-weights-to-arguments --matformer-bind-runtime-abi | FileCheck %s
// RUN: matc-opt %s -split-input-file -verify-diagnostics --matformer-bind-runtime-abi
// RUN: sed 's/-> tensor<?x16xf32> {/-> tensor<?x16xf32> attributes {matformer.mix = #matformer.mix<[2, skip, 16]>} {/' %S/Inputs/universal-3layer.mlir | matc-opt --matformer-specialize-mix --matformer-weights-to-arguments --matformer-bind-runtime-abi | FileCheck %s --check-prefix=LOSS

// The same forward is matc_model_loss: tokens[0, n) in, from position 0,
// every row through the LM head, the summed cross entropy against
// tokens[1, n + 1) written to loss[0].
// LOSS: func.func @matc_loss_impl(%[[N:[a-z0-9_]+]]: index {matformer.abi_arg = "num_tokens"}, %[[TOK:[a-z0-9_]+]]: memref<33xi32> {matformer.abi_arg = "tokens"}, %[[LOSS:[a-z0-9_]+]]: memref<1xf32> {matformer.abi_arg = "loss"}, %{{.*}}: memref<2x32x1x4xf32> {matformer.abi_arg = "k_cache"}, %{{.*}}: memref<2x1x4x32xf32> {matformer.abi_arg = "v_cache"}, %{{.*}}: memref<3xi64> {matformer.abi_arg = "layer_widths"}, %{{.*}}: memref<16x8xf32> {matformer.weight = "model.embed_tokens.weight"}
// LOSS-SAME: attributes {matformer.mix = #matformer.mix<[2, skip, 16]>}
// LOSS: %[[ZERO:.*]] = arith.constant 0 : index
// LOSS: memref.subview %[[TOK]][0] [%[[N]]] [1]
// LOSS: matformer.attention {{.*}} at %[[ZERO]]
// LOSS: matformer.attention {{.*}} at %[[ZERO]]
// LOSS: %[[LOGITS:.*]] = matformer.lm_head
// LOSS-SAME: -> tensor<?x16xf32>
// LOSS: %[[TARGETS_VIEW:.*]] = memref.subview %[[TOK]][1] [%[[N]]] [1]
// LOSS: %[[TARGETS:.*]] = bufferization.to_tensor %[[TARGETS_VIEW]]
// LOSS: %[[SUM:.*]] = matformer.cross_entropy %[[LOGITS]], %[[TARGETS]] reduction sum
// LOSS: %[[ONE:.*]] = tensor.expand_shape %[[SUM]] [] output_shape [1]
// LOSS: bufferization.materialize_in_destination %[[ONE]] in restrict writable %[[LOSS]]

// The entry takes matc/abi/ModelAbi.h's arguments in its order, each tagged
// with its name: num_tokens, start_pos, num_logits, the tokens and logits
// buffers, K and V caches for the 2 kept layers (max_positions 32, 1 KV head
// of 4; K a row per position, V positions innermost), the per-layer widths
// (unused when specialized), then the weights in first-use order, tagged with
// their checkpoint names; skipped layer 1's are gone.
// CHECK-NOT: matformer.weight @
// CHECK-NOT: func.func @forward
// CHECK: func.func @matc_forward_impl(%[[T:[a-z0-9_]+]]: index {matformer.abi_arg = "num_tokens"}, %[[POS:[a-z0-9_]+]]: index {matformer.abi_arg = "start_pos"}, %[[NL:[a-z0-9_]+]]: index {matformer.abi_arg = "num_logits"}, %[[TOK:[a-z0-9_]+]]: memref<32xi32> {matformer.abi_arg = "tokens"}, %[[LOGITS:[a-z0-9_]+]]: memref<32x16xf32> {matformer.abi_arg = "logits"}, %[[KC:[a-z0-9_]+]]: memref<2x32x1x4xf32> {matformer.abi_arg = "k_cache"}, %[[VC:[a-z0-9_]+]]: memref<2x1x4x32xf32> {matformer.abi_arg = "v_cache"}, %{{[a-z0-9_]+}}: memref<3xi64> {matformer.abi_arg = "layer_widths"}, %[[EMB:[a-z0-9_]+]]: memref<16x8xf32> {matformer.weight = "model.embed_tokens.weight"}, %{{.*}}: memref<8xf32> {matformer.weight = "model.layers.0.input_layernorm.weight"},
// CHECK-NOT: model.layers.1.
// CHECK-SAME: %{{.*}}: memref<8x16xf32> {matformer.weight = "model.layers.2.mlp.down_proj.weight"}, %{{.*}}: memref<8xf32> {matformer.weight = "model.norm.weight"}) attributes {matformer.mix = #matformer.mix<[2, skip, 16]>} {
// CHECK: %[[TOKV:.*]] = memref.subview %[[TOK]][0] [%[[T]]] [1]
// CHECK: %[[TOKT:.*]] = bufferization.to_tensor %[[TOKV]] restrict
// CHECK: %[[EMBT:.*]] = bufferization.to_tensor %[[EMB]] restrict : memref<16x8xf32> to tensor<16x8xf32>
// CHECK-NOT: get_weight
// CHECK: matformer.embed %[[TOKT]], %[[EMBT]]
// The first kept layer uses cache slot 0, layer 2 uses slot 1: the slot is a
// value defined before the layer, so identical layers stay identical.
// CHECK: %[[S0:.*]] = arith.constant 0 : index
// CHECK: matformer.decoder_layer 0
// CHECK: %[[K0:.*]] = memref.subview %[[KC]][%[[S0]], 0, 0, 0] [1, 32, 1, 4] [1, 1, 1, 1]
// CHECK: %[[V0:.*]] = memref.subview %[[VC]][%[[S0]], 0, 0, 0] [1, 1, 4, 32] [1, 1, 1, 1]
// CHECK: matformer.attention {{.*}} kv_cache(%[[K0]], %[[V0]]) at %[[POS]]
// CHECK: %[[S1:.*]] = arith.constant 1 : index
// CHECK: %[[LAST:.*]] = matformer.decoder_layer 2
// CHECK: memref.subview %[[KC]][%[[S1]], 0, 0, 0] [1, 32, 1, 4] [1, 1, 1, 1] {{.*}} offset: ?
// CHECK: kv_cache(
// The final norm and the LM head run on the last num_logits rows only.
// CHECK: %[[FIRST:.*]] = arith.subi %[[T]], %[[NL]] : index
// CHECK: %[[ROWS:.*]] = tensor.extract_slice %[[LAST]][%[[FIRST]], 0] [%[[NL]], 8] [1, 1]
// CHECK: %[[NORMED:.*]] = matformer.rms_norm %[[ROWS]]
// CHECK: %[[HEAD:.*]] = matformer.lm_head %[[NORMED]]
// CHECK: %[[OUT:.*]] = memref.subview %[[LOGITS]][0, 0] [%[[NL]], 16] [1, 1]
// CHECK: bufferization.materialize_in_destination %[[HEAD]] in restrict writable %[[OUT]]
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

// expected-error @+1 {{expected func.func @forward(tensor<?xi32>, weights...) -> tensor<?xVxf32> to bind to the runtime}}
module attributes {matformer.max_positions = 8 : i64} {
  func.func @other() {
    return
  }
}

// -----

module attributes {matformer.max_positions = 8 : i64} {
  // expected-error @+1 {{argument 1 is not a weight (matformer.weight); run matformer-weights-to-arguments first}}
  func.func @forward(%t: tensor<?xi32>, %e: tensor<4x8xf32>) -> tensor<?x4xf32> {
    %x = matformer.embed %t, %e : tensor<?xi32>, tensor<4x8xf32> -> tensor<?x8xf32>
    %l = matformer.lm_head %x, %e : tensor<?x8xf32>, tensor<4x8xf32> -> tensor<?x4xf32>
    return %l : tensor<?x4xf32>
  }
}

// -----

module attributes {matformer.max_positions = 8 : i64} {
  matformer.weight @"model.embed_tokens.weight" : tensor<4x8xf32>
  // expected-error @+1 {{still reads weights by symbol; run matformer-weights-to-arguments first}}
  func.func @forward(%t: tensor<?xi32>) -> tensor<?x4xf32> {
    %e = matformer.get_weight @"model.embed_tokens.weight" : tensor<4x8xf32>
    %x = matformer.embed %t, %e : tensor<?xi32>, tensor<4x8xf32> -> tensor<?x8xf32>
    %l = matformer.lm_head %x, %e : tensor<?x8xf32>, tensor<4x8xf32> -> tensor<?x4xf32>
    return %l : tensor<?x4xf32>
  }
}

// -----

module attributes {matformer.max_positions = 8 : i64} {
  func.func @forward(%t: tensor<?xi32>,
      %e: tensor<4x8xf32> {matformer.weight = "model.embed_tokens.weight"},
      %g: tensor<16x8xf32> {matformer.weight = "model.layers.0.mlp.gate_proj.weight"},
      %d: tensor<8x16xf32> {matformer.weight = "model.layers.0.mlp.down_proj.weight"}) -> tensor<?x4xf32> {
    %x = matformer.embed %t, %e : tensor<?xi32>, tensor<4x8xf32> -> tensor<?x8xf32>
    %a = matformer.decoder_layer 0 (%x) : tensor<?x8xf32> {
    ^bb0(%y: tensor<?x8xf32>):
      // expected-error @+1 {{has no width: give the function a matformer.mix and run matformer-specialize-mix, or mark it matformer.elastic}}
      %f = matformer.nested_ffn %y, %g, %g, %d act silu : tensor<?x8xf32>, tensor<16x8xf32>, tensor<16x8xf32>, tensor<8x16xf32>
      matformer.yield %f : tensor<?x8xf32>
    }
    %l = matformer.lm_head %a, %e : tensor<?x8xf32>, tensor<4x8xf32> -> tensor<?x4xf32>
    return %l : tensor<?x4xf32>
  }
}

// -----

module attributes {matformer.max_positions = 8 : i64} {
  // expected-error @+1 {{is elastic, so it must not be specialized, but it has mix #matformer.mix<[2]>}}
  func.func @forward(%t: tensor<?xi32>, %e: tensor<4x8xf32> {matformer.weight = "model.embed_tokens.weight"}) -> tensor<?x4xf32>
      attributes {matformer.elastic, matformer.mix = #matformer.mix<[2]>} {
    %x = matformer.embed %t, %e : tensor<?xi32>, tensor<4x8xf32> -> tensor<?x8xf32>
    %l = matformer.lm_head %x, %e : tensor<?x8xf32>, tensor<4x8xf32> -> tensor<?x4xf32>
    return %l : tensor<?x4xf32>
  }
}

// -----

module attributes {matformer.max_positions = 8 : i64} {
  // expected-error @+1 {{must return the result of matformer.lm_head}}
  func.func @forward(%t: tensor<?xi32>, %e: tensor<4x8xf32> {matformer.weight = "model.embed_tokens.weight"}) -> tensor<?x8xf32> {
    %x = matformer.embed %t, %e : tensor<?xi32>, tensor<4x8xf32> -> tensor<?x8xf32>
    return %x : tensor<?x8xf32>
  }
}
