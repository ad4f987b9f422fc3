// RUN: matc-opt %s -split-input-file -verify-diagnostics --convert-matformer-to-linalg

matformer.weight @"model.norm.weight" : tensor<8xf32>
func.func @unbound_weight(%x: tensor<?x8xf32>) -> tensor<?x8xf32> {
  // expected-error @+1 {{could not be lowered to linalg: bind weights to values first (matformer-bind-runtime-abi)}}
  %w = matformer.get_weight @"model.norm.weight" : tensor<8xf32>
  %y = matformer.rms_norm %x, %w eps(1.0e-5) : tensor<?x8xf32>, tensor<8xf32>
  return %y : tensor<?x8xf32>
}

// -----

func.func @no_width(%x: tensor<?x8xf32>, %g: tensor<16x8xf32>, %d: tensor<8x16xf32>) -> tensor<?x8xf32> {
  // expected-error @+1 {{could not be lowered to linalg: it has no width (apply a MIX with matformer-specialize-mix)}}
  %y = matformer.nested_ffn %x, %g, %g, %d act silu : tensor<?x8xf32>, tensor<16x8xf32>, tensor<16x8xf32>, tensor<8x16xf32>
  return %y : tensor<?x8xf32>
}

// -----

// Inside a layer too, before anything is rewritten.
func.func @no_width_in_layer(%x: tensor<?x8xf32>, %g: tensor<16x8xf32>, %d: tensor<8x16xf32>) -> tensor<?x8xf32> {
  %h = matformer.decoder_layer 0 (%x) : tensor<?x8xf32> {
  ^bb0(%y: tensor<?x8xf32>):
    // expected-error @+1 {{could not be lowered to linalg: it has no width (apply a MIX with matformer-specialize-mix)}}
    %f = matformer.nested_ffn %y, %g, %g, %d act silu : tensor<?x8xf32>, tensor<16x8xf32>, tensor<16x8xf32>, tensor<8x16xf32>
    matformer.yield %f : tensor<?x8xf32>
  }
  return %h : tensor<?x8xf32>
}
