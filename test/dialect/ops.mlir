// RUN: matc-opt %s | FileCheck %s
// Round trip: print, parse again, print the same.
// RUN: matc-opt %s | matc-opt | FileCheck %s
// RUN: matc-opt %s --mlir-print-op-generic | matc-opt | FileCheck %s

// CHECK-LABEL: matformer.weight @model.embed_tokens.weight : tensor<256x64xf32>
matformer.weight @"model.embed_tokens.weight" : tensor<256x64xf32>
matformer.weight @"model.layers.0.input_layernorm.weight" : tensor<64xf32>
matformer.weight @"model.layers.0.self_attn.q_proj.weight" : tensor<64x64xf32>
// CHECK: matformer.weight @model.layers.0.self_attn.k_proj.weight : tensor<32x64xbf16>
matformer.weight @"model.layers.0.self_attn.k_proj.weight" : tensor<32x64xbf16>
matformer.weight @"model.layers.0.self_attn.v_proj.weight" : tensor<32x64xf32>
matformer.weight @"model.layers.0.self_attn.o_proj.weight" : tensor<64x64xf32>
matformer.weight @"model.layers.0.mlp.gate_proj.weight" : tensor<128x64xf32>
matformer.weight @"model.layers.0.mlp.up_proj.weight" : tensor<128x64xf32>
matformer.weight @"model.layers.0.mlp.down_proj.weight" : tensor<64x128xf32>

// CHECK-LABEL: func.func @layer
func.func @layer(%tokens: tensor<?xi32>, %w: index) -> tensor<?x256xf32> {
  // CHECK: %[[TABLE:.*]] = matformer.get_weight @model.embed_tokens.weight : tensor<256x64xf32>
  %table = matformer.get_weight @"model.embed_tokens.weight" : tensor<256x64xf32>
  // CHECK: %[[H:.*]] = matformer.embed %{{.*}}, %[[TABLE]] : tensor<?xi32>, tensor<256x64xf32> -> tensor<?x64xf32>
  %h = matformer.embed %tokens, %table : tensor<?xi32>, tensor<256x64xf32> -> tensor<?x64xf32>
  // CHECK: matformer.decoder_layer 0(%[[H]]) : tensor<?x64xf32> {
  %out = matformer.decoder_layer 0 (%h) : tensor<?x64xf32> {
  // CHECK-NEXT: ^bb0(%[[X:.*]]: tensor<?x64xf32>):
  ^bb0(%x: tensor<?x64xf32>):
    %ln = matformer.get_weight @"model.layers.0.input_layernorm.weight" : tensor<64xf32>
    // CHECK: matformer.rms_norm %[[X]], %{{.*}} eps(1.000000e-05) : tensor<?x64xf32>, tensor<64xf32>
    %n = matformer.rms_norm %x, %ln eps(1.0e-5) : tensor<?x64xf32>, tensor<64xf32>
    %wq = matformer.get_weight @"model.layers.0.self_attn.q_proj.weight" : tensor<64x64xf32>
    %wk = matformer.get_weight @"model.layers.0.self_attn.k_proj.weight" : tensor<32x64xbf16>
    %wv = matformer.get_weight @"model.layers.0.self_attn.v_proj.weight" : tensor<32x64xf32>
    %wo = matformer.get_weight @"model.layers.0.self_attn.o_proj.weight" : tensor<64x64xf32>
    // CHECK: matformer.attention %{{.*}}, q %{{.*}}, k %{{.*}}, v %{{.*}}, o %{{.*}} heads(4, 2) head_dim(16) rope_theta(1.000000e+04)
    %a = matformer.attention %n, q %wq, k %wk, v %wv, o %wo heads(4, 2) head_dim(16) rope_theta(1.0e4)
        : tensor<?x64xf32>, tensor<64x64xf32>, tensor<32x64xbf16>, tensor<32x64xf32>, tensor<64x64xf32>
    %r = arith.addf %x, %a : tensor<?x64xf32>
    %g = matformer.get_weight @"model.layers.0.mlp.gate_proj.weight" : tensor<128x64xf32>
    %u = matformer.get_weight @"model.layers.0.mlp.up_proj.weight" : tensor<128x64xf32>
    %d = matformer.get_weight @"model.layers.0.mlp.down_proj.weight" : tensor<64x128xf32>
    // Not specialized yet: no width.
    // CHECK: matformer.nested_ffn %{{.*}} act silu granularities <[16, 32, 64, 128]> :
    %f0 = matformer.nested_ffn %r, %g, %u, %d act silu granularities <[16, 32, 64, 128]>
        : tensor<?x64xf32>, tensor<128x64xf32>, tensor<128x64xf32>, tensor<64x128xf32>
    // A static width.
    // CHECK: matformer.nested_ffn %{{.*}} act gelu_tanh granularities <[16, 32, 64, 128]> width 32 :
    %f1 = matformer.nested_ffn %f0, %g, %u, %d act gelu_tanh granularities <[16, 32, 64, 128]> width 32
        : tensor<?x64xf32>, tensor<128x64xf32>, tensor<128x64xf32>, tensor<64x128xf32>
    // A run-time width, and no known granularities.
    // CHECK: matformer.nested_ffn %{{.*}} act silu runtime_width %{{.*}} :
    %f2 = matformer.nested_ffn %f1, %g, %u, %d act silu runtime_width %w
        : tensor<?x64xf32>, tensor<128x64xf32>, tensor<128x64xf32>, tensor<64x128xf32>
    // CHECK: matformer.yield %{{.*}} : tensor<?x64xf32>
    matformer.yield %f2 : tensor<?x64xf32>
  }
  // CHECK: matformer.lm_head %{{.*}}, %[[TABLE]] : tensor<?x64xf32>, tensor<256x64xf32> -> tensor<?x256xf32>
  %logits = matformer.lm_head %out, %table : tensor<?x64xf32>, tensor<256x64xf32> -> tensor<?x256xf32>
  return %logits : tensor<?x256xf32>
}

// CHECK-LABEL: func.func @attributes
// CHECK-SAME: mix = #matformer.mix<[64, 0, skip, 128]>
func.func @attributes() attributes {mix = #matformer.mix<[64, 0, skip, 128]>} {
  return
}

// CHECK-LABEL: func.func @attention_with_cache
// CHECK: matformer.attention %{{.*}}, q %{{.*}}, k %{{.*}}, v %{{.*}}, o %{{.*}} heads(2, 1) head_dim(4) rope_theta(1.000000e+04) kv_cache(%{{.*}}, %{{.*}}) at %{{.*}} : tensor<?x8xf32>, tensor<8x8xf32>, tensor<4x8xf32>, tensor<4x8xf32>, tensor<8x8xf32>, memref<16x1x4xf32>, memref<1x4x16xf32>
func.func @attention_with_cache(%x: tensor<?x8xf32>, %q: tensor<8x8xf32>, %k: tensor<4x8xf32>, %o: tensor<8x8xf32>,
                                %kc: memref<16x1x4xf32>, %vc: memref<1x4x16xf32>, %start: index) -> tensor<?x8xf32> {
  %y = matformer.attention %x, q %q, k %k, v %k, o %o heads(2, 1) head_dim(4) rope_theta(1.0e4) kv_cache(%kc, %vc) at %start
      : tensor<?x8xf32>, tensor<8x8xf32>, tensor<4x8xf32>, tensor<4x8xf32>, tensor<8x8xf32>, memref<16x1x4xf32>, memref<1x4x16xf32>
  return %y : tensor<?x8xf32>
}

// The attention core: grouped-query (4 query heads over 2 KV heads), keys
// [positions, kv_heads, d], values [kv_heads, d, positions].
// CHECK-LABEL: func.func @causal_attention
// CHECK: matformer.causal_attention %{{.*}}, %{{.*}}, %{{.*}} at %{{.*}} scale(2.500000e-01) : tensor<?x4x16xf32>, tensor<?x2x16xf32>, tensor<2x16x?xf32>
// Without a start position, row t sits at position t.
// CHECK: matformer.causal_attention %{{.*}}, %{{.*}}, %{{.*}} scale(1.250000e-01) : tensor<3x4x16xf32>, tensor<3x2x16xf32>, tensor<2x16x3xf32>
func.func @causal_attention(%q: tensor<?x4x16xf32>, %k: tensor<?x2x16xf32>, %v: tensor<2x16x?xf32>, %start: index,
                            %q3: tensor<3x4x16xf32>, %k3: tensor<3x2x16xf32>, %v3: tensor<2x16x3xf32>)
    -> (tensor<?x4x16xf32>, tensor<3x4x16xf32>) {
  %o = matformer.causal_attention %q, %k, %v at %start scale(0.25)
      : tensor<?x4x16xf32>, tensor<?x2x16xf32>, tensor<2x16x?xf32>
  %o3 = matformer.causal_attention %q3, %k3, %v3 scale(0.125)
      : tensor<3x4x16xf32>, tensor<3x2x16xf32>, tensor<2x16x3xf32>
  return %o, %o3 : tensor<?x4x16xf32>, tensor<3x4x16xf32>
}

// Its backward: the gradients of query, keys and values, in their layouts,
// from the gradient of the result (the query's type).
// CHECK-LABEL: func.func @causal_attention_grad
// CHECK: %[[DQ:[a-z0-9_]+]], %[[DK:[a-z0-9_]+]], %[[DV:[a-z0-9_]+]] = matformer.causal_attention_grad %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} at %{{.*}} scale(2.500000e-01) : tensor<?x4x16xf32>, tensor<?x2x16xf32>, tensor<2x16x?xf32>, tensor<?x4x16xf32>
// CHECK: %{{.*}}, %{{.*}}, %[[DV3:[a-z0-9_]+]] = matformer.causal_attention_grad %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} scale(1.250000e-01) : tensor<3x4x16xf32>, tensor<3x2x16xf32>, tensor<2x16x3xf32>, tensor<3x4x16xf32>
// CHECK: return %[[DQ]], %[[DK]], %[[DV]], %[[DV3]]
func.func @causal_attention_grad(%q: tensor<?x4x16xf32>, %k: tensor<?x2x16xf32>, %v: tensor<2x16x?xf32>,
                                 %do: tensor<?x4x16xf32>, %start: index,
                                 %q3: tensor<3x4x16xf32>, %k3: tensor<3x2x16xf32>, %v3: tensor<2x16x3xf32>,
                                 %do3: tensor<3x4x16xf32>)
    -> (tensor<?x4x16xf32>, tensor<?x2x16xf32>, tensor<2x16x?xf32>, tensor<2x16x3xf32>) {
  %dq, %dk, %dv = matformer.causal_attention_grad %q, %k, %v, %do at %start scale(0.25)
      : tensor<?x4x16xf32>, tensor<?x2x16xf32>, tensor<2x16x?xf32>, tensor<?x4x16xf32>
  %dq3, %dk3, %dv3 = matformer.causal_attention_grad %q3, %k3, %v3, %do3 scale(0.125)
      : tensor<3x4x16xf32>, tensor<3x2x16xf32>, tensor<2x16x3xf32>, tensor<3x4x16xf32>
  return %dq, %dk, %dv, %dv3 : tensor<?x4x16xf32>, tensor<?x2x16xf32>, tensor<2x16x?xf32>, tensor<2x16x3xf32>
}
