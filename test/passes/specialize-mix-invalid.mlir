// A function's mix that does not fit its layers, and misplaced or mistyped
// matformer attributes, each a diagnostic at the place.
// RUN: matc-opt %s -split-input-file -verify-diagnostics --matformer-specialize-mix

// expected-error @+1 {{has 1 decoder layers but its matformer.mix #matformer.mix<[2, 2]> lists 2}}
func.func @wrong_length(%x: tensor<?x8xf32>, %g: tensor<16x8xf32>, %d: tensor<8x16xf32>) -> tensor<?x8xf32>
    attributes {matformer.mix = #matformer.mix<[2, 2]>} {
  %y = matformer.decoder_layer 0 (%x) : tensor<?x8xf32> {
  ^bb0(%h: tensor<?x8xf32>):
    %f = matformer.nested_ffn %h, %g, %g, %d act silu : tensor<?x8xf32>, tensor<16x8xf32>, tensor<16x8xf32>, tensor<8x16xf32>
    matformer.yield %f : tensor<?x8xf32>
  }
  return %y : tensor<?x8xf32>
}

// -----

func.func @too_wide(%x: tensor<?x8xf32>, %g: tensor<16x8xf32>, %d: tensor<8x16xf32>) -> tensor<?x8xf32>
    attributes {matformer.mix = #matformer.mix<[17]>} {
  // expected-error @+1 {{gets width 17 from matformer.mix, expected at most 16 (its d_ff)}}
  %y = matformer.decoder_layer 0 (%x) : tensor<?x8xf32> {
  ^bb0(%h: tensor<?x8xf32>):
    %f = matformer.nested_ffn %h, %g, %g, %d act silu : tensor<?x8xf32>, tensor<16x8xf32>, tensor<16x8xf32>, tensor<8x16xf32>
    matformer.yield %f : tensor<?x8xf32>
  }
  return %y : tensor<?x8xf32>
}

// -----

func.func @out_of_order(%x: tensor<?x8xf32>, %g: tensor<16x8xf32>, %d: tensor<8x16xf32>) -> tensor<?x8xf32>
    attributes {matformer.mix = #matformer.mix<[4]>} {
  // expected-error @+1 {{has index 1, expected 0: a mix needs every layer of the universal model, numbered in order}}
  %y = matformer.decoder_layer 1 (%x) : tensor<?x8xf32> {
  ^bb0(%h: tensor<?x8xf32>):
    %f = matformer.nested_ffn %h, %g, %g, %d act silu : tensor<?x8xf32>, tensor<16x8xf32>, tensor<16x8xf32>, tensor<8x16xf32>
    matformer.yield %f : tensor<?x8xf32>
  }
  return %y : tensor<?x8xf32>
}

// -----

// expected-error @+1 {{mixes FFNs with and without widths; specialize the universal model}}
func.func @half_specialized(%x: tensor<?x8xf32>, %g: tensor<16x8xf32>, %d: tensor<8x16xf32>) -> tensor<?x8xf32>
    attributes {matformer.mix = #matformer.mix<[4, 4]>} {
  %y = matformer.decoder_layer 0 (%x) : tensor<?x8xf32> {
  ^bb0(%h: tensor<?x8xf32>):
    %f = matformer.nested_ffn %h, %g, %g, %d act silu width 4 : tensor<?x8xf32>, tensor<16x8xf32>, tensor<16x8xf32>, tensor<8x16xf32>
    matformer.yield %f : tensor<?x8xf32>
  }
  %z = matformer.decoder_layer 1 (%y) : tensor<?x8xf32> {
  ^bb0(%h: tensor<?x8xf32>):
    %f = matformer.nested_ffn %h, %g, %g, %d act silu : tensor<?x8xf32>, tensor<16x8xf32>, tensor<16x8xf32>, tensor<8x16xf32>
    matformer.yield %f : tensor<?x8xf32>
  }
  return %z : tensor<?x8xf32>
}

// -----

// expected-error @+1 {{'matformer.mix' belongs on a function (the submodel it computes), not on 'builtin.module'}}
module attributes {matformer.mix = #matformer.mix<[2]>} {
}

// -----

// expected-error @+1 {{'matformer.mix' must be a #matformer.mix<[...]>, got "S,M"}}
func.func @text_mix() attributes {matformer.mix = "S,M"} {
  return
}

// -----

// expected-error @+1 {{unknown matformer attribute 'matformer.default_mix'}}
module attributes {matformer.default_mix = "XL"} {
}

// -----

// expected-error @+1 {{'matformer.max_positions' must be a positive integer on a module}}
module attributes {matformer.max_positions = 0 : i64} {
}

// -----

// expected-error @+1 {{'matformer.elastic' must be a unit attribute on a function}}
func.func @elastic_flag() attributes {matformer.elastic = 1 : i64} {
  return
}

// -----

// expected-error @+1 {{argument 0: 'matformer.weight' must name a checkpoint tensor}}
func.func @unnamed_weight(%w: tensor<4xf32> {matformer.weight = 3 : i64}) {
  return
}

// -----

// expected-error @+1 {{argument 0 ('model.norm.weight') is a weight, so it must be a ranked tensor or a memref, got 'f32'}}
func.func @scalar_weight(%w: f32 {matformer.weight = "model.norm.weight"}) {
  return
}
