// RUN: matc-opt %s -split-input-file -verify-diagnostics

func.func @missing_weight() {
  // expected-error @+1 {{'model.norm.weight' does not name a matformer.weight}}
  %w = matformer.get_weight @"model.norm.weight" : tensor<64xf32>
  return
}

// -----

matformer.weight @"model.norm.weight" : tensor<64xf32>
func.func @weight_type_mismatch() {
  // expected-error @+1 {{type 'tensor<32xf32>' differs from weight 'model.norm.weight' declared as 'tensor<64xf32>'}}
  %w = matformer.get_weight @"model.norm.weight" : tensor<32xf32>
  return
}

// -----

func.func @weight_outside_module() {
  // expected-error @+1 {{expects parent op 'builtin.module'}}
  "matformer.weight"() {sym_name = "w", type = tensor<4xf32>} : () -> ()
  return
}

// -----

func.func @embed_width(%t: tensor<?xi32>, %table: tensor<256x64xf32>) {
  // expected-error @+1 {{result must have shape [?, 64], got [?, 32]}}
  %h = matformer.embed %t, %table : tensor<?xi32>, tensor<256x64xf32> -> tensor<?x32xf32>
  return
}

// -----

func.func @embed_tokens_count(%t: tensor<7xi32>, %table: tensor<256x64xf32>) {
  // expected-error @+1 {{result must have shape [7, 64], got [8, 64]}}
  %h = matformer.embed %t, %table : tensor<7xi32>, tensor<256x64xf32> -> tensor<8x64xf32>
  return
}

// -----

func.func @rms_norm_weight(%x: tensor<?x64xf32>, %w: tensor<32xf32>) {
  // expected-error @+1 {{weight must have shape [64], got [32]}}
  %y = matformer.rms_norm %x, %w eps(1.0e-5) : tensor<?x64xf32>, tensor<32xf32>
  return
}

// -----

func.func @rms_norm_eps(%x: tensor<?x64xf32>, %w: tensor<64xf32>) {
  // expected-error @+1 {{eps must be positive, got 0}}
  %y = matformer.rms_norm %x, %w eps(0.0) : tensor<?x64xf32>, tensor<64xf32>
  return
}

// -----

func.func @rms_norm_rank(%x: tensor<64xf32>, %w: tensor<64xf32>) {
  // expected-error @+1 {{input must be a rank-2 [tokens, features] tensor, got 'tensor<64xf32>'}}
  %y = matformer.rms_norm %x, %w eps(1.0e-5) : tensor<64xf32>, tensor<64xf32>
  return
}

// -----

func.func @attention_gqa(%x: tensor<?x64xf32>, %q: tensor<64x64xf32>, %k: tensor<48x64xf32>, %o: tensor<64x64xf32>) {
  // expected-error @+1 {{num_kv_heads (3) must divide num_heads (4)}}
  %y = matformer.attention %x, q %q, k %k, v %k, o %o heads(4, 3) head_dim(16) rope_theta(1.0e4)
      : tensor<?x64xf32>, tensor<64x64xf32>, tensor<48x64xf32>, tensor<48x64xf32>, tensor<64x64xf32>
  return
}

// -----

func.func @attention_k_shape(%x: tensor<?x64xf32>, %q: tensor<64x64xf32>, %k: tensor<64x64xf32>, %v: tensor<32x64xf32>, %o: tensor<64x64xf32>) {
  // expected-error @+1 {{k weight must have shape [32, 64], got [64, 64]}}
  %y = matformer.attention %x, q %q, k %k, v %v, o %o heads(4, 2) head_dim(16) rope_theta(1.0e4)
      : tensor<?x64xf32>, tensor<64x64xf32>, tensor<64x64xf32>, tensor<32x64xf32>, tensor<64x64xf32>
  return
}

// -----

func.func @attention_odd_head_dim(%x: tensor<?x60xf32>, %q: tensor<60x60xf32>, %o: tensor<60x60xf32>) {
  // expected-error @+1 {{head_dim (15) must be even for rotate-half RoPE}}
  %y = matformer.attention %x, q %q, k %q, v %q, o %o heads(4, 4) head_dim(15) rope_theta(1.0e4)
      : tensor<?x60xf32>, tensor<60x60xf32>, tensor<60x60xf32>, tensor<60x60xf32>, tensor<60x60xf32>
  return
}

// -----

func.func @attention_heads_positive(%x: tensor<?x64xf32>, %q: tensor<64x64xf32>) {
  // expected-error @+1 {{attribute 'num_heads' failed to satisfy constraint: 64-bit signless integer attribute whose value is positive}}
  %y = matformer.attention %x, q %q, k %q, v %q, o %q heads(0, 1) head_dim(16) rope_theta(1.0e4)
      : tensor<?x64xf32>, tensor<64x64xf32>, tensor<64x64xf32>, tensor<64x64xf32>, tensor<64x64xf32>
  return
}

// -----

func.func @ffn_width_too_large(%x: tensor<?x64xf32>, %g: tensor<128x64xf32>, %d: tensor<64x128xf32>) {
  // expected-error @+1 {{width 256 exceeds d_ff of the weights (128)}}
  %y = matformer.nested_ffn %x, %g, %g, %d act silu width 256
      : tensor<?x64xf32>, tensor<128x64xf32>, tensor<128x64xf32>, tensor<64x128xf32>
  return
}

// -----

func.func @ffn_granularity_mismatch(%x: tensor<?x64xf32>, %g: tensor<128x64xf32>, %d: tensor<64x128xf32>) {
  // expected-error @+1 {{largest granularity (96) must equal d_ff of the weights (128)}}
  %y = matformer.nested_ffn %x, %g, %g, %d act silu granularities <[16, 32, 96]> width 32
      : tensor<?x64xf32>, tensor<128x64xf32>, tensor<128x64xf32>, tensor<64x128xf32>
  return
}

// -----

func.func @ffn_granularities_not_increasing(%x: tensor<?x64xf32>, %g: tensor<128x64xf32>, %d: tensor<64x128xf32>) {
  // expected-error @+1 {{granularity 2 is 32, expected it to be greater than 64 (strictly increasing)}}
  %y = matformer.nested_ffn %x, %g, %g, %d act silu granularities <[16, 64, 32, 128]>
      : tensor<?x64xf32>, tensor<128x64xf32>, tensor<128x64xf32>, tensor<64x128xf32>
  return
}

// -----

func.func @ffn_down_shape(%x: tensor<?x64xf32>, %g: tensor<128x64xf32>) {
  // expected-error @+1 {{down weight must have shape [64, 128], got [128, 64]}}
  %y = matformer.nested_ffn %x, %g, %g, %g act silu
      : tensor<?x64xf32>, tensor<128x64xf32>, tensor<128x64xf32>, tensor<128x64xf32>
  return
}

// -----

func.func @ffn_negative_width(%x: tensor<?x64xf32>, %g: tensor<128x64xf32>, %d: tensor<64x128xf32>) {
  // expected-error @+1 {{attribute 'static_width' failed to satisfy constraint}}
  %y = matformer.nested_ffn %x, %g, %g, %d act silu width -1
      : tensor<?x64xf32>, tensor<128x64xf32>, tensor<128x64xf32>, tensor<64x128xf32>
  return
}

// -----

func.func @ffn_unknown_activation(%x: tensor<?x64xf32>, %g: tensor<128x64xf32>, %d: tensor<64x128xf32>) {
  // expected-error @+1 {{expected string or keyword containing one of the following enum values for attribute 'activation' [silu, gelu_tanh]}}
  %y = matformer.nested_ffn %x, %g, %g, %d act relu
      : tensor<?x64xf32>, tensor<128x64xf32>, tensor<128x64xf32>, tensor<64x128xf32>
  return
}

// -----

func.func @lm_head_vocab(%x: tensor<?x64xf32>, %w: tensor<256x64xf32>) {
  // expected-error @+1 {{result must have shape [?, 256], got [?, 128]}}
  %y = matformer.lm_head %x, %w : tensor<?x64xf32>, tensor<256x64xf32> -> tensor<?x128xf32>
  return
}

// -----

func.func @layer_yield_type(%x: tensor<?x64xf32>, %y: tensor<?x32xf32>) {
  %out = matformer.decoder_layer 0 (%x) : tensor<?x64xf32> {
  ^bb0(%arg: tensor<?x64xf32>):
    // expected-error @+1 {{yields 'tensor<?x32xf32>', expected the layer's hidden state type 'tensor<?x64xf32>'}}
    matformer.yield %y : tensor<?x32xf32>
  }
  return
}

// -----

func.func @layer_block_argument(%x: tensor<?x64xf32>) {
  // expected-error @+1 {{body must take one argument of type 'tensor<?x64xf32>' (the hidden state)}}
  %out = matformer.decoder_layer 0 (%x) : tensor<?x64xf32> {
  ^bb0(%arg: tensor<?x32xf32>):
    matformer.yield %x : tensor<?x64xf32>
  }
  return
}

// -----

func.func @yield_outside_layer(%x: tensor<?x64xf32>) {
  // expected-error @+1 {{expects parent op 'matformer.decoder_layer'}}
  matformer.yield %x : tensor<?x64xf32>
}

// -----

// expected-error @+1 {{mix entry 1 is -3, expected a width >= 0 or skip}}
func.func @bad_mix() attributes {mix = #matformer.mix<[64, -3]>} {
  return
}

// -----

func.func @attention_cache_shape(%x: tensor<?x8xf32>, %q: tensor<8x8xf32>, %k: tensor<4x8xf32>, %o: tensor<8x8xf32>,
                                 %kc: memref<16x2x4xf32>, %vc: memref<1x4x16xf32>, %start: index) {
  // expected-error @+1 {{k cache must have shape [max_positions, 1, 4], got [16, 2, 4]}}
  %y = matformer.attention %x, q %q, k %k, v %k, o %o heads(2, 1) head_dim(4) rope_theta(1.0e4) kv_cache(%kc, %vc) at %start
      : tensor<?x8xf32>, tensor<8x8xf32>, tensor<4x8xf32>, tensor<4x8xf32>, tensor<8x8xf32>, memref<16x2x4xf32>, memref<1x4x16xf32>
  return
}

// -----

func.func @attention_v_cache_layout(%x: tensor<?x8xf32>, %q: tensor<8x8xf32>, %k: tensor<4x8xf32>, %o: tensor<8x8xf32>,
                                 %kc: memref<16x1x4xf32>, %start: index) {
  // expected-error @+1 {{v cache must have shape [1, 4, max_positions], got [16, 1, 4]}}
  %y = matformer.attention %x, q %q, k %k, v %k, o %o heads(2, 1) head_dim(4) rope_theta(1.0e4) kv_cache(%kc, %kc) at %start
      : tensor<?x8xf32>, tensor<8x8xf32>, tensor<4x8xf32>, tensor<4x8xf32>, tensor<8x8xf32>, memref<16x1x4xf32>, memref<16x1x4xf32>
  return
}

// -----

func.func @attention_cache_positions(%x: tensor<?x8xf32>, %q: tensor<8x8xf32>, %k: tensor<4x8xf32>, %o: tensor<8x8xf32>,
                                 %kc: memref<16x1x4xf32>, %vc: memref<1x4x8xf32>, %start: index) {
  // expected-error @+1 {{k and v caches must hold the same number of positions, got 16 and 8}}
  %y = matformer.attention %x, q %q, k %k, v %k, o %o heads(2, 1) head_dim(4) rope_theta(1.0e4) kv_cache(%kc, %vc) at %start
      : tensor<?x8xf32>, tensor<8x8xf32>, tensor<4x8xf32>, tensor<4x8xf32>, tensor<8x8xf32>, memref<16x1x4xf32>, memref<1x4x8xf32>
  return
}

// -----

func.func @embed_element_type(%t: tensor<?xi32>, %table: tensor<256x64xbf16>) {
  // expected-error @+1 {{result element type must be f32 or the table's 'bf16'}}
  %h = matformer.embed %t, %table : tensor<?xi32>, tensor<256x64xbf16> -> tensor<?x64xf16>
  return
}

// -----

func.func @attention_rope_theta(%x: tensor<?x64xf32>, %q: tensor<64x64xf32>, %kv: tensor<32x64xf32>) {
  // expected-error @+1 {{rope_theta must be positive}}
  %a = matformer.attention %x, q %q, k %kv, v %kv, o %q heads(4, 2) head_dim(16) rope_theta(0.0) : tensor<?x64xf32>, tensor<64x64xf32>, tensor<32x64xf32>, tensor<32x64xf32>, tensor<64x64xf32>
  return
}

// -----

func.func @attention_o_weight(%x: tensor<?x64xf32>, %q: tensor<64x64xf32>, %kv: tensor<32x64xf32>, %o: tensor<64x32xf32>) {
  // expected-error @+1 {{o weight must have shape [64, 64], got [64, 32]}}
  %a = matformer.attention %x, q %q, k %kv, v %kv, o %o heads(4, 2) head_dim(16) rope_theta(1.0e4) : tensor<?x64xf32>, tensor<64x64xf32>, tensor<32x64xf32>, tensor<32x64xf32>, tensor<64x32xf32>
  return
}

// -----

func.func @attention_weight_rank(%x: tensor<?x64xf32>, %q: tensor<4096xf32>, %kv: tensor<32x64xf32>, %o: tensor<64x64xf32>) {
  // expected-error @+1 {{q weight must have rank 2 [64, 64], got 'tensor<4096xf32>'}}
  %a = matformer.attention %x, q %q, k %kv, v %kv, o %o heads(4, 2) head_dim(16) rope_theta(1.0e4) : tensor<?x64xf32>, tensor<4096xf32>, tensor<32x64xf32>, tensor<32x64xf32>, tensor<64x64xf32>
  return
}

// -----

// The cache operands come as a group in the custom form; the generic form
// can leave one out.
func.func @attention_half_cache(%x: tensor<?x64xf32>, %q: tensor<64x64xf32>, %kv: tensor<32x64xf32>, %k: memref<16x2x16xf32>, %s: index) {
  // expected-error @+1 {{kv_cache needs both caches and a start position}}
  %a = "matformer.attention"(%x, %q, %kv, %kv, %q, %k, %s) {operandSegmentSizes = array<i32: 1, 1, 1, 1, 1, 1, 0, 1>, num_heads = 4 : i64, num_kv_heads = 2 : i64, head_dim = 16 : i64, rope_theta = 1.0e4 : f64} : (tensor<?x64xf32>, tensor<64x64xf32>, tensor<32x64xf32>, tensor<32x64xf32>, tensor<64x64xf32>, memref<16x2x16xf32>, index) -> tensor<?x64xf32>
  return
}

// -----

func.func @ffn_dynamic_gate(%x: tensor<?x64xf32>, %g: tensor<?x64xf32>, %d: tensor<64x128xf32>) {
  // expected-error @+1 {{gate weight must be a static [d_ff, hidden] tensor, got 'tensor<?x64xf32>'}}
  %f = matformer.nested_ffn %x, %g, %g, %d act silu : tensor<?x64xf32>, tensor<?x64xf32>, tensor<?x64xf32>, tensor<64x128xf32>
  return
}

// -----

func.func @ffn_up_weight(%x: tensor<?x64xf32>, %g: tensor<128x64xf32>, %u: tensor<64x64xf32>, %d: tensor<64x128xf32>) {
  // expected-error @+1 {{up weight must have shape [128, 64], got [64, 64]}}
  %f = matformer.nested_ffn %x, %g, %u, %d act silu : tensor<?x64xf32>, tensor<128x64xf32>, tensor<64x64xf32>, tensor<64x128xf32>
  return
}

// -----

func.func @ffn_two_widths(%x: tensor<?x64xf32>, %g: tensor<128x64xf32>, %d: tensor<64x128xf32>, %w: index) {
  // expected-error @+1 {{has both a static and a dynamic width}}
  %f = matformer.nested_ffn %x, %g, %g, %d act silu width 64 runtime_width %w : tensor<?x64xf32>, tensor<128x64xf32>, tensor<128x64xf32>, tensor<64x128xf32>
  return
}

// -----

func.func @zero_granularity(%x: tensor<?x64xf32>, %g: tensor<128x64xf32>, %d: tensor<64x128xf32>) {
  // expected-error @+1 {{granularity 0 is 0, expected a positive width}}
  %f = matformer.nested_ffn %x, %g, %g, %d act silu granularities <[0, 128]> : tensor<?x64xf32>, tensor<128x64xf32>, tensor<128x64xf32>, tensor<64x128xf32>
  return
}

// -----

func.func @lm_head_weight(%x: tensor<?x64xf32>, %w: tensor<256x32xf32>) {
  // expected-error @+1 {{weight must have shape [?, 64], got [256, 32]}}
  %l = matformer.lm_head %x, %w : tensor<?x64xf32>, tensor<256x32xf32> -> tensor<?x256xf32>
  return
}

// -----

func.func @rms_norm_rank(%x: tensor<?x8x8xf32>, %w: tensor<8xf32>) {
  // expected-error @+1 {{input must be a rank-2 [tokens, features] tensor, got 'tensor<?x8x8xf32>'}}
  %n = matformer.rms_norm %x, %w eps(1.0e-5) : tensor<?x8x8xf32>, tensor<8xf32>
  return
}

// -----

func.func @causal_attention_gqa(%q: tensor<?x4x16xf32>, %k: tensor<?x3x16xf32>, %v: tensor<3x16x?xf32>) {
  // expected-error @+1 {{kv_heads (3) must divide the query's heads (4)}}
  %o = matformer.causal_attention %q, %k, %v scale(0.25) : tensor<?x4x16xf32>, tensor<?x3x16xf32>, tensor<3x16x?xf32>
  return
}

// -----

func.func @causal_attention_head_dim(%q: tensor<?x4x16xf32>, %k: tensor<?x2x8xf32>, %v: tensor<2x16x?xf32>) {
  // expected-error @+1 {{keys must have shape [?, 2, 16], got [?, 2, 8]}}
  %o = matformer.causal_attention %q, %k, %v scale(0.25) : tensor<?x4x16xf32>, tensor<?x2x8xf32>, tensor<2x16x?xf32>
  return
}

// -----

// The V layout keeps positions innermost, as in the V cache.
func.func @causal_attention_v_layout(%q: tensor<?x4x16xf32>, %k: tensor<?x2x16xf32>, %v: tensor<?x2x16xf32>) {
  // expected-error @+1 {{values must have shape [2, 16, ?], got [?, 2, 16]}}
  %o = matformer.causal_attention %q, %k, %v scale(0.25) : tensor<?x4x16xf32>, tensor<?x2x16xf32>, tensor<?x2x16xf32>
  return
}

// -----

func.func @causal_attention_positions(%q: tensor<?x4x16xf32>, %k: tensor<8x2x16xf32>, %v: tensor<2x16x9xf32>) {
  // expected-error @+1 {{keys and values must hold the same number of positions, got 8 and 9}}
  %o = matformer.causal_attention %q, %k, %v scale(0.25) : tensor<?x4x16xf32>, tensor<8x2x16xf32>, tensor<2x16x9xf32>
  return
}

// -----

func.func @causal_attention_dynamic_heads(%q: tensor<?x?x16xf32>, %k: tensor<?x2x16xf32>, %v: tensor<2x16x?xf32>) {
  // expected-error @+1 {{heads, kv_heads and head_dim must be static, got query [?, ?, 16] and keys [?, 2, 16]}}
  %o = matformer.causal_attention %q, %k, %v scale(0.25) : tensor<?x?x16xf32>, tensor<?x2x16xf32>, tensor<2x16x?xf32>
  return
}

// -----

func.func @causal_attention_scale(%q: tensor<?x4x16xf32>, %k: tensor<?x2x16xf32>, %v: tensor<2x16x?xf32>) {
  // expected-error @+1 {{scale must be positive and finite, got 0}}
  %o = matformer.causal_attention %q, %k, %v scale(0.0) : tensor<?x4x16xf32>, tensor<?x2x16xf32>, tensor<2x16x?xf32>
  return
}

// -----

func.func @causal_attention_rank(%q: tensor<?x64xf32>, %k: tensor<?x2x16xf32>, %v: tensor<2x16x?xf32>) {
  // expected-error @+1 {{operand #0 must be 3D tensor of 32-bit float values}}
  %o = matformer.causal_attention %q, %k, %v scale(0.25) : tensor<?x64xf32>, tensor<?x2x16xf32>, tensor<2x16x?xf32>
  return
}

// -----

// causal_attention_grad keeps the forward's shape rules.
func.func @causal_attention_grad_gqa(%q: tensor<?x4x16xf32>, %k: tensor<?x3x16xf32>, %v: tensor<3x16x?xf32>, %do: tensor<?x4x16xf32>) {
  // expected-error @+1 {{kv_heads (3) must divide the query's heads (4)}}
  %dq, %dk, %dv = matformer.causal_attention_grad %q, %k, %v, %do scale(0.25) : tensor<?x4x16xf32>, tensor<?x3x16xf32>, tensor<3x16x?xf32>, tensor<?x4x16xf32>
  return
}

// -----

func.func @causal_attention_grad_v_layout(%q: tensor<?x4x16xf32>, %k: tensor<?x2x16xf32>, %v: tensor<?x2x16xf32>, %do: tensor<?x4x16xf32>) {
  // expected-error @+1 {{values must have shape [2, 16, ?], got [?, 2, 16]}}
  %dq, %dk, %dv = matformer.causal_attention_grad %q, %k, %v, %do scale(0.25) : tensor<?x4x16xf32>, tensor<?x2x16xf32>, tensor<?x2x16xf32>, tensor<?x4x16xf32>
  return
}

// -----

func.func @causal_attention_grad_positions(%q: tensor<?x4x16xf32>, %k: tensor<8x2x16xf32>, %v: tensor<2x16x9xf32>, %do: tensor<?x4x16xf32>) {
  // expected-error @+1 {{keys and values must hold the same number of positions, got 8 and 9}}
  %dq, %dk, %dv = matformer.causal_attention_grad %q, %k, %v, %do scale(0.25) : tensor<?x4x16xf32>, tensor<8x2x16xf32>, tensor<2x16x9xf32>, tensor<?x4x16xf32>
  return
}

// -----

func.func @causal_attention_grad_dynamic_heads(%q: tensor<?x?x16xf32>, %k: tensor<?x2x16xf32>, %v: tensor<2x16x?xf32>, %do: tensor<?x?x16xf32>) {
  // expected-error @+1 {{heads, kv_heads and head_dim must be static, got query [?, ?, 16] and keys [?, 2, 16]}}
  %dq, %dk, %dv = matformer.causal_attention_grad %q, %k, %v, %do scale(0.25) : tensor<?x?x16xf32>, tensor<?x2x16xf32>, tensor<2x16x?xf32>, tensor<?x?x16xf32>
  return
}

// -----

func.func @causal_attention_grad_scale(%q: tensor<?x4x16xf32>, %k: tensor<?x2x16xf32>, %v: tensor<2x16x?xf32>, %do: tensor<?x4x16xf32>) {
  // expected-error @+1 {{scale must be positive and finite, got -2.500000e-01}}
  %dq, %dk, %dv = matformer.causal_attention_grad %q, %k, %v, %do scale(-0.25) : tensor<?x4x16xf32>, tensor<?x2x16xf32>, tensor<2x16x?xf32>, tensor<?x4x16xf32>
  return
}

// -----

// The gradient of the result has the result's type, which is the query's.
func.func @causal_attention_grad_result_grad(%q: tensor<?x4x16xf32>, %k: tensor<?x2x16xf32>, %v: tensor<2x16x?xf32>, %do: tensor<?x2x16xf32>) {
  // expected-error @+1 {{result_grad (the gradient of the attention's result) must have the query's type 'tensor<?x4x16xf32>', got 'tensor<?x2x16xf32>'}}
  %dq, %dk, %dv = matformer.causal_attention_grad %q, %k, %v, %do scale(0.25) : tensor<?x4x16xf32>, tensor<?x2x16xf32>, tensor<2x16x?xf32>, tensor<?x2x16xf32>
  return
}

// -----

// A static token count on one side only is still a different type.
func.func @causal_attention_grad_result_grad_tokens(%q: tensor<3x4x16xf32>, %k: tensor<?x2x16xf32>, %v: tensor<2x16x?xf32>, %do: tensor<?x4x16xf32>) {
  // expected-error @+1 {{result_grad (the gradient of the attention's result) must have the query's type 'tensor<3x4x16xf32>', got 'tensor<?x4x16xf32>'}}
  %dq, %dk, %dv = matformer.causal_attention_grad %q, %k, %v, %do scale(0.25) : tensor<3x4x16xf32>, tensor<?x2x16xf32>, tensor<2x16x?xf32>, tensor<?x4x16xf32>
  return
}

// -----

func.func @causal_attention_grad_rank(%q: tensor<?x4x16xf32>, %k: tensor<?x2x16xf32>, %v: tensor<2x16x?xf32>, %do: tensor<?x64xf32>) {
  // expected-error @+1 {{operand #3 must be 3D tensor of 32-bit float values}}
  %dq, %dk, %dv = matformer.causal_attention_grad %q, %k, %v, %do scale(0.25) : tensor<?x4x16xf32>, tensor<?x2x16xf32>, tensor<2x16x?xf32>, tensor<?x64xf32>
  return
}

// -----

// The gradients have the types of what they differentiate.
func.func @causal_attention_grad_result_types(%q: tensor<?x4x16xf32>, %k: tensor<?x2x16xf32>, %v: tensor<2x16x?xf32>, %do: tensor<?x4x16xf32>) {
  // expected-error @+1 {{all of {keys, keys_grad} have same type}}
  %g:3 = "matformer.causal_attention_grad"(%q, %k, %v, %do) <{scale = 2.500000e-01 : f64}> : (tensor<?x4x16xf32>, tensor<?x2x16xf32>, tensor<2x16x?xf32>, tensor<?x4x16xf32>) -> (tensor<?x4x16xf32>, tensor<?x2x8xf32>, tensor<2x16x?xf32>)
  return
}
