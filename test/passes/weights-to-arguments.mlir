// The last case is an error (checked below), hence `not`.
// RUN: not matc-opt %s -split-input-file --matformer-weights-to-arguments 2>/dev/null | FileCheck %s
// RUN: matc-opt %s -split-input-file -verify-diagnostics --matformer-weights-to-arguments -o /dev/null

// Every weight a function reads becomes one argument, in first-read order,
// tagged with its checkpoint name; repeated reads share it; the declarations
// go.
// CHECK-NOT: matformer.weight @
// CHECK-LABEL: func.func @forward(
// CHECK-SAME: %[[T:.*]]: tensor<?xi32>,
// CHECK-SAME: %[[E:.*]]: tensor<4x8xf32> {matformer.weight = "model.embed_tokens.weight"},
// CHECK-SAME: %[[N:.*]]: tensor<8xf32> {matformer.weight = "model.norm.weight"})
// CHECK-NOT: get_weight
// CHECK: matformer.embed %[[T]], %[[E]]
// CHECK: matformer.rms_norm %{{.*}}, %[[N]]
// CHECK: matformer.lm_head %{{.*}}, %[[E]]
module {
  matformer.weight @"model.norm.weight" : tensor<8xf32>
  matformer.weight @"model.embed_tokens.weight" : tensor<4x8xf32>
  func.func @forward(%t: tensor<?xi32>) -> tensor<?x4xf32> {
    %e = matformer.get_weight @"model.embed_tokens.weight" : tensor<4x8xf32>
    %x = matformer.embed %t, %e : tensor<?xi32>, tensor<4x8xf32> -> tensor<?x8xf32>
    %w = matformer.get_weight @"model.norm.weight" : tensor<8xf32>
    %n = matformer.rms_norm %x, %w eps(1.0e-5) : tensor<?x8xf32>, tensor<8xf32>
    %e2 = matformer.get_weight @"model.embed_tokens.weight" : tensor<4x8xf32>
    %l = matformer.lm_head %n, %e2 : tensor<?x8xf32>, tensor<4x8xf32> -> tensor<?x4xf32>
    return %l : tensor<?x4xf32>
  }
}

// -----

// Two functions read the same weight: each gets its own argument.
// CHECK-LABEL: func.func @forward_S(
// CHECK-SAME: {matformer.weight = "model.norm.weight"}
// CHECK-LABEL: func.func @forward_XL(
// CHECK-SAME: {matformer.weight = "model.norm.weight"}
module {
  matformer.weight @"model.norm.weight" : tensor<8xf32>
  func.func @forward_S(%x: tensor<?x8xf32>) -> tensor<?x8xf32> {
    %w = matformer.get_weight @"model.norm.weight" : tensor<8xf32>
    %n = matformer.rms_norm %x, %w eps(1.0e-5) : tensor<?x8xf32>, tensor<8xf32>
    return %n : tensor<?x8xf32>
  }
  func.func @forward_XL(%x: tensor<?x8xf32>) -> tensor<?x8xf32> {
    %w = matformer.get_weight @"model.norm.weight" : tensor<8xf32>
    %n = matformer.rms_norm %x, %w eps(1.0e-5) : tensor<?x8xf32>, tensor<8xf32>
    return %n : tensor<?x8xf32>
  }
}

// -----

// A public function with callers would change its signature under them.
module {
  matformer.weight @"model.norm.weight" : tensor<8xf32>
  // expected-error @+1 {{is called, so its weights cannot become arguments}}
  func.func @norm(%x: tensor<?x8xf32>) -> tensor<?x8xf32> {
    %w = matformer.get_weight @"model.norm.weight" : tensor<8xf32>
    %n = matformer.rms_norm %x, %w eps(1.0e-5) : tensor<?x8xf32>, tensor<8xf32>
    return %n : tensor<?x8xf32>
  }
  func.func @caller(%x: tensor<?x8xf32>) -> tensor<?x8xf32> {
    %n = func.call @norm(%x) : (tensor<?x8xf32>) -> tensor<?x8xf32>
    return %n : tensor<?x8xf32>
  }
}
