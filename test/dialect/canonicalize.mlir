// RUN: matc-opt %s -canonicalize | FileCheck %s

// A run-time width that is a constant becomes a static width.
// CHECK-LABEL: func.func @constant_width
// CHECK: matformer.nested_ffn %{{.*}} act silu width 32 :
// CHECK-NOT: runtime_width %
func.func @constant_width(%x: tensor<?x64xf32>, %g: tensor<128x64xf32>, %d: tensor<64x128xf32>) -> tensor<?x64xf32> {
  %w = arith.constant 32 : index
  %y = matformer.nested_ffn %x, %g, %g, %d act silu runtime_width %w
      : tensor<?x64xf32>, tensor<128x64xf32>, tensor<128x64xf32>, tensor<64x128xf32>
  return %y : tensor<?x64xf32>
}

// A constant out of range stays dynamic (the run-time check reports it).
// CHECK-LABEL: func.func @constant_width_out_of_range
// CHECK: matformer.nested_ffn %{{.*}} act silu runtime_width %{{.*}} :
func.func @constant_width_out_of_range(%x: tensor<?x64xf32>, %g: tensor<128x64xf32>, %d: tensor<64x128xf32>) -> tensor<?x64xf32> {
  %w = arith.constant 300 : index
  %y = matformer.nested_ffn %x, %g, %g, %d act silu runtime_width %w
      : tensor<?x64xf32>, tensor<128x64xf32>, tensor<128x64xf32>, tensor<64x128xf32>
  return %y : tensor<?x64xf32>
}

// Dead model ops go: every op is pure.
// CHECK-LABEL: func.func @dead
// CHECK-NOT: matformer.
// CHECK: return
func.func @dead(%x: tensor<?x64xf32>, %w: tensor<64xf32>) {
  %y = matformer.rms_norm %x, %w eps(1.0e-5) : tensor<?x64xf32>, tensor<64xf32>
  %z = matformer.decoder_layer 0 (%y) : tensor<?x64xf32> {
  ^bb0(%a: tensor<?x64xf32>):
    matformer.yield %a : tensor<?x64xf32>
  }
  return
}
