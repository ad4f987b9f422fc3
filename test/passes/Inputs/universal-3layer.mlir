// A universal MatFormer: 3 layers, d_ff 16, granularities 2/4/8/16.
module attributes {matformer.max_positions = 32 : i64} {
  matformer.weight @"model.embed_tokens.weight" : tensor<16x8xf32>
  matformer.weight @"model.layers.0.input_layernorm.weight" : tensor<8xf32>
  matformer.weight @"model.layers.0.self_attn.q_proj.weight" : tensor<8x8xf32>
  matformer.weight @"model.layers.0.self_attn.k_proj.weight" : tensor<4x8xf32>
  matformer.weight @"model.layers.0.self_attn.v_proj.weight" : tensor<4x8xf32>
  matformer.weight @"model.layers.0.self_attn.o_proj.weight" : tensor<8x8xf32>
  matformer.weight @"model.layers.0.post_attention_layernorm.weight" : tensor<8xf32>
  matformer.weight @"model.layers.0.mlp.gate_proj.weight" : tensor<16x8xf32>
  matformer.weight @"model.layers.0.mlp.up_proj.weight" : tensor<16x8xf32>
  matformer.weight @"model.layers.0.mlp.down_proj.weight" : tensor<8x16xf32>
  matformer.weight @"model.layers.1.input_layernorm.weight" : tensor<8xf32>
  matformer.weight @"model.layers.1.self_attn.q_proj.weight" : tensor<8x8xf32>
  matformer.weight @"model.layers.1.self_attn.k_proj.weight" : tensor<4x8xf32>
  matformer.weight @"model.layers.1.self_attn.v_proj.weight" : tensor<4x8xf32>
  matformer.weight @"model.layers.1.self_attn.o_proj.weight" : tensor<8x8xf32>
  matformer.weight @"model.layers.1.post_attention_layernorm.weight" : tensor<8xf32>
  matformer.weight @"model.layers.1.mlp.gate_proj.weight" : tensor<16x8xf32>
  matformer.weight @"model.layers.1.mlp.up_proj.weight" : tensor<16x8xf32>
  matformer.weight @"model.layers.1.mlp.down_proj.weight" : tensor<8x16xf32>
  matformer.weight @"model.layers.2.input_layernorm.weight" : tensor<8xf32>
  matformer.weight @"model.layers.2.self_attn.q_proj.weight" : tensor<8x8xf32>
  matformer.weight @"model.layers.2.self_attn.k_proj.weight" : tensor<4x8xf32>
  matformer.weight @"model.layers.2.self_attn.v_proj.weight" : tensor<4x8xf32>
  matformer.weight @"model.layers.2.self_attn.o_proj.weight" : tensor<8x8xf32>
  matformer.weight @"model.layers.2.post_attention_layernorm.weight" : tensor<8xf32>
  matformer.weight @"model.layers.2.mlp.gate_proj.weight" : tensor<16x8xf32>
  matformer.weight @"model.layers.2.mlp.up_proj.weight" : tensor<16x8xf32>
  matformer.weight @"model.layers.2.mlp.down_proj.weight" : tensor<8x16xf32>
  matformer.weight @"model.norm.weight" : tensor<8xf32>
  func.func @forward(%tokens: tensor<?xi32>) -> tensor<?x16xf32> {
    %table = matformer.get_weight @"model.embed_tokens.weight" : tensor<16x8xf32>
    %h0 = matformer.embed %tokens, %table : tensor<?xi32>, tensor<16x8xf32> -> tensor<?x8xf32>
    %h1 = matformer.decoder_layer 0 (%h0) : tensor<?x8xf32> {
    ^bb0(%x: tensor<?x8xf32>):
      %ln = matformer.get_weight @"model.layers.0.input_layernorm.weight" : tensor<8xf32>
      %n = matformer.rms_norm %x, %ln eps(1.0e-5) : tensor<?x8xf32>, tensor<8xf32>
      %wq = matformer.get_weight @"model.layers.0.self_attn.q_proj.weight" : tensor<8x8xf32>
      %wk = matformer.get_weight @"model.layers.0.self_attn.k_proj.weight" : tensor<4x8xf32>
      %wv = matformer.get_weight @"model.layers.0.self_attn.v_proj.weight" : tensor<4x8xf32>
      %wo = matformer.get_weight @"model.layers.0.self_attn.o_proj.weight" : tensor<8x8xf32>
      %a = matformer.attention %n, q %wq, k %wk, v %wv, o %wo heads(2, 1) head_dim(4) rope_theta(1.0e4) : tensor<?x8xf32>, tensor<8x8xf32>, tensor<4x8xf32>, tensor<4x8xf32>, tensor<8x8xf32>
      %r = arith.addf %x, %a : tensor<?x8xf32>
      %pln = matformer.get_weight @"model.layers.0.post_attention_layernorm.weight" : tensor<8xf32>
      %m = matformer.rms_norm %r, %pln eps(1.0e-5) : tensor<?x8xf32>, tensor<8xf32>
      %wg = matformer.get_weight @"model.layers.0.mlp.gate_proj.weight" : tensor<16x8xf32>
      %wu = matformer.get_weight @"model.layers.0.mlp.up_proj.weight" : tensor<16x8xf32>
      %wd = matformer.get_weight @"model.layers.0.mlp.down_proj.weight" : tensor<8x16xf32>
      %f = matformer.nested_ffn %m, %wg, %wu, %wd act silu granularities <[2, 4, 8, 16]> : tensor<?x8xf32>, tensor<16x8xf32>, tensor<16x8xf32>, tensor<8x16xf32>
      %y = arith.addf %r, %f : tensor<?x8xf32>
      matformer.yield %y : tensor<?x8xf32>
    }
    %h2 = matformer.decoder_layer 1 (%h1) : tensor<?x8xf32> {
    ^bb0(%x: tensor<?x8xf32>):
      %ln = matformer.get_weight @"model.layers.1.input_layernorm.weight" : tensor<8xf32>
      %n = matformer.rms_norm %x, %ln eps(1.0e-5) : tensor<?x8xf32>, tensor<8xf32>
      %wq = matformer.get_weight @"model.layers.1.self_attn.q_proj.weight" : tensor<8x8xf32>
      %wk = matformer.get_weight @"model.layers.1.self_attn.k_proj.weight" : tensor<4x8xf32>
      %wv = matformer.get_weight @"model.layers.1.self_attn.v_proj.weight" : tensor<4x8xf32>
      %wo = matformer.get_weight @"model.layers.1.self_attn.o_proj.weight" : tensor<8x8xf32>
      %a = matformer.attention %n, q %wq, k %wk, v %wv, o %wo heads(2, 1) head_dim(4) rope_theta(1.0e4) : tensor<?x8xf32>, tensor<8x8xf32>, tensor<4x8xf32>, tensor<4x8xf32>, tensor<8x8xf32>
      %r = arith.addf %x, %a : tensor<?x8xf32>
      %pln = matformer.get_weight @"model.layers.1.post_attention_layernorm.weight" : tensor<8xf32>
      %m = matformer.rms_norm %r, %pln eps(1.0e-5) : tensor<?x8xf32>, tensor<8xf32>
      %wg = matformer.get_weight @"model.layers.1.mlp.gate_proj.weight" : tensor<16x8xf32>
      %wu = matformer.get_weight @"model.layers.1.mlp.up_proj.weight" : tensor<16x8xf32>
      %wd = matformer.get_weight @"model.layers.1.mlp.down_proj.weight" : tensor<8x16xf32>
      %f = matformer.nested_ffn %m, %wg, %wu, %wd act silu granularities <[2, 4, 8, 16]> : tensor<?x8xf32>, tensor<16x8xf32>, tensor<16x8xf32>, tensor<8x16xf32>
      %y = arith.addf %r, %f : tensor<?x8xf32>
      matformer.yield %y : tensor<?x8xf32>
    }
    %h3 = matformer.decoder_layer 2 (%h2) : tensor<?x8xf32> {
    ^bb0(%x: tensor<?x8xf32>):
      %ln = matformer.get_weight @"model.layers.2.input_layernorm.weight" : tensor<8xf32>
      %n = matformer.rms_norm %x, %ln eps(1.0e-5) : tensor<?x8xf32>, tensor<8xf32>
      %wq = matformer.get_weight @"model.layers.2.self_attn.q_proj.weight" : tensor<8x8xf32>
      %wk = matformer.get_weight @"model.layers.2.self_attn.k_proj.weight" : tensor<4x8xf32>
      %wv = matformer.get_weight @"model.layers.2.self_attn.v_proj.weight" : tensor<4x8xf32>
      %wo = matformer.get_weight @"model.layers.2.self_attn.o_proj.weight" : tensor<8x8xf32>
      %a = matformer.attention %n, q %wq, k %wk, v %wv, o %wo heads(2, 1) head_dim(4) rope_theta(1.0e4) : tensor<?x8xf32>, tensor<8x8xf32>, tensor<4x8xf32>, tensor<4x8xf32>, tensor<8x8xf32>
      %r = arith.addf %x, %a : tensor<?x8xf32>
      %pln = matformer.get_weight @"model.layers.2.post_attention_layernorm.weight" : tensor<8xf32>
      %m = matformer.rms_norm %r, %pln eps(1.0e-5) : tensor<?x8xf32>, tensor<8xf32>
      %wg = matformer.get_weight @"model.layers.2.mlp.gate_proj.weight" : tensor<16x8xf32>
      %wu = matformer.get_weight @"model.layers.2.mlp.up_proj.weight" : tensor<16x8xf32>
      %wd = matformer.get_weight @"model.layers.2.mlp.down_proj.weight" : tensor<8x16xf32>
      %f = matformer.nested_ffn %m, %wg, %wu, %wd act silu granularities <[2, 4, 8, 16]> : tensor<?x8xf32>, tensor<16x8xf32>, tensor<16x8xf32>, tensor<8x16xf32>
      %y = arith.addf %r, %f : tensor<?x8xf32>
      matformer.yield %y : tensor<?x8xf32>
    }
    %fw = matformer.get_weight @"model.norm.weight" : tensor<8xf32>
    %fn = matformer.rms_norm %h3, %fw eps(1.0e-5) : tensor<?x8xf32>, tensor<8xf32>
    %logits = matformer.lm_head %fn, %table : tensor<?x8xf32>, tensor<16x8xf32> -> tensor<?x16xf32>
    return %logits : tensor<?x16xf32>
  }
}
