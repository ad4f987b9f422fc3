// RUN: matc-opt %s -split-input-file -verify-diagnostics --matformer-reverse-mode

// expected-error @+1 {{must return one tensor<f32> loss to be differentiated, got '(tensor<?x8xf32>, tensor<16x8xf32>) -> tensor<?x16xf32>'}}
func.func @not_a_loss(%x: tensor<?x8xf32>, %head: tensor<16x8xf32> {matformer.weight = "lm_head.weight"})
    -> tensor<?x16xf32> attributes {matformer.differentiate} {
  %logits = matformer.lm_head %x, %head : tensor<?x8xf32>, tensor<16x8xf32> -> tensor<?x16xf32>
  return %logits : tensor<?x16xf32>
}

// -----

// An op without a derivative on the loss's path is reported at that op.
func.func @no_derivative(%x: tensor<?x8xf32>, %t: tensor<?xi32>, %head: tensor<16x8xf32> {matformer.weight = "lm_head.weight"})
    -> tensor<f32> attributes {matformer.differentiate} {
  // expected-error @+1 {{'arith.mulf' op has no derivative (matformer::DifferentiableOpInterface), but the loss depends on it}}
  %sq = arith.mulf %x, %x : tensor<?x8xf32>
  %logits = matformer.lm_head %sq, %head : tensor<?x8xf32>, tensor<16x8xf32> -> tensor<?x16xf32>
  %loss = matformer.cross_entropy %logits, %t reduction sum : tensor<?x16xf32>, tensor<?xi32> -> tensor<f32>
  return %loss : tensor<f32>
}

// -----

// expected-error @+1 {{weight argument 2 ("lm_head.weight") is 'tensor<16x8xbf16>': only f32 weights train}}
func.func @bf16(%x: tensor<?x8xf32>, %t: tensor<?xi32>, %head: tensor<16x8xbf16> {matformer.weight = "lm_head.weight"})
    -> tensor<f32> attributes {matformer.differentiate} {
  %logits = matformer.lm_head %x, %head : tensor<?x8xf32>, tensor<16x8xbf16> -> tensor<?x16xf32>
  %loss = matformer.cross_entropy %logits, %t reduction sum : tensor<?x16xf32>, tensor<?xi32> -> tensor<f32>
  return %loss : tensor<f32>
}

// -----

// A cached attention (decoding) is not trained.
func.func @cached(%x: tensor<?x8xf32>, %t: tensor<?xi32>, %w: tensor<8x8xf32> {matformer.weight = "w"}, %w4: tensor<4x8xf32> {matformer.weight = "w4"},
                  %kc: memref<16x1x4xf32>, %vc: memref<1x4x16xf32>, %start: index)
    -> tensor<f32> attributes {matformer.differentiate} {
  // expected-error @+1 {{'matformer.attention' op with a KV cache cannot be differentiated}}
  %y = matformer.attention %x, q %w, k %w4, v %w4, o %w heads(2, 1) head_dim(4) rope_theta(1.0e4) kv_cache(%kc, %vc) at %start
      : tensor<?x8xf32>, tensor<8x8xf32>, tensor<4x8xf32>, tensor<4x8xf32>, tensor<8x8xf32>, memref<16x1x4xf32>, memref<1x4x16xf32>
  %logits = matformer.lm_head %y, %w : tensor<?x8xf32>, tensor<8x8xf32> -> tensor<?x8xf32>
  %loss = matformer.cross_entropy %logits, %t reduction sum : tensor<?x8xf32>, tensor<?xi32> -> tensor<f32>
  return %loss : tensor<f32>
}
