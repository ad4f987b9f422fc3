// RUN: matc-opt %s -split-input-file -verify-diagnostics --matformer-bind-training-abi | FileCheck %s

// The train step calls each granularity's gradient function under
// loss_weights[i] != 0, stores its loss and adds loss_weights[i] times each
// gradient into the grads table (by weight name); the norm and AdamW loop
// over every weight in @matc_forward_impl's order.
// CHECK-LABEL: func.func @matc_train_step_impl
// CHECK-SAME: (%[[SEQ:.*]]: index {matformer.abi_arg = "seq_len"}, %[[TOKENS:.*]]: memref<9xi32> {matformer.abi_arg = "tokens"}, %[[LW:.*]]: memref<2xf32> {matformer.abi_arg = "loss_weights"}, %[[LOSSES:.*]]: memref<2xf32> {matformer.abi_arg = "losses"},
// CHECK-SAME: %[[HEAD:.*]]: memref<16x4xf32> {matformer.weight = "lm_head.weight"}, %[[NORM:.*]]: memref<4xf32> {matformer.weight = "model.norm.weight"},
// CHECK-SAME: %[[DHEAD:.*]]: memref<16x4xf32> {matformer.abi_arg = "grads", matformer.weight = "lm_head.weight"}, %[[DNORM:.*]]: memref<4xf32> {matformer.abi_arg = "grads", matformer.weight = "model.norm.weight"})
// CHECK: %[[LAMBDA0:.*]] = memref.load %[[LW]][%{{.*}}]
// CHECK: %[[ACTIVE0:.*]] = arith.cmpf une, %[[LAMBDA0]]
// CHECK: scf.if %[[ACTIVE0]] {
// CHECK: %[[R:.*]]:2 = func.call @loss_0(
// CHECK: %[[L:.*]] = tensor.extract %[[R]]#0[]
// CHECK: memref.store %[[L]], %[[LOSSES]]
// CHECK: bufferization.to_tensor %[[DHEAD]]
// CHECK: linalg.generic
// CHECK: arith.mulf %[[LAMBDA0]]
// CHECK: bufferization.materialize_in_destination %{{.*}} in restrict writable %[[DHEAD]]
// CHECK: }
// CHECK: scf.if
// CHECK: func.call @loss_1(
// CHECK: bufferization.materialize_in_destination %{{.*}} in restrict writable %[[DNORM]]
// CHECK: bufferization.materialize_in_destination %{{.*}} in restrict writable %[[DHEAD]]
// CHECK-LABEL: func.func @matc_grad_squared_norm_impl
// CHECK-SAME: {matformer.abi_arg = "result"}
// CHECK: linalg.generic {{.*}} iterator_types = ["reduction", "reduction"]
// CHECK: linalg.generic {{.*}} iterator_types = ["reduction"]
// CHECK: memref.store
// CHECK-LABEL: func.func @matc_adamw_step_impl
// CHECK-SAME: memref<8xf32> {matformer.abi_arg = "hyper"}, %{{.*}}: memref<2xf32> {matformer.abi_arg = "decay"}
// CHECK-SAME: {matformer.abi_arg = "m", matformer.weight = "model.norm.weight"}
// CHECK-SAME: {matformer.abi_arg = "v", matformer.weight = "model.norm.weight"}
// CHECK: linalg.generic {{.*}} outs(%{{.*}}, %{{.*}}, %{{.*}} : memref<16x4xf32>, memref<16x4xf32>, memref<16x4xf32>)
// CHECK: math.sqrt
// CHECK: linalg.generic {{.*}} outs(%{{.*}}, %{{.*}}, %{{.*}} : memref<4xf32>, memref<4xf32>, memref<4xf32>)
module attributes {matformer.max_positions = 8 : i64} {
  func.func @matc_forward_impl(%n: index {matformer.abi_arg = "num_tokens"},
                               %head: memref<16x4xf32> {matformer.weight = "lm_head.weight"},
                               %norm: memref<4xf32> {matformer.weight = "model.norm.weight"}) {
    return
  }
  // Granularity 1 reads both weights, granularity 0 only the head (in a
  // different order than the forward's): gradients are matched by name.
  func.func private @loss_1(%tokens: tensor<?xi32>,
                            %norm: tensor<4xf32> {matformer.weight = "model.norm.weight"},
                            %head: tensor<16x4xf32> {matformer.weight = "lm_head.weight"})
      -> (tensor<f32>, tensor<4xf32>, tensor<16x4xf32>)
      attributes {matformer.gradients, matformer.granularity = 1 : i64} {
    %l = arith.constant dense<1.0> : tensor<f32>
    return %l, %norm, %head : tensor<f32>, tensor<4xf32>, tensor<16x4xf32>
  }
  func.func private @loss_0(%tokens: tensor<?xi32>,
                            %head: tensor<16x4xf32> {matformer.weight = "lm_head.weight"})
      -> (tensor<f32>, tensor<16x4xf32>)
      attributes {matformer.gradients, matformer.granularity = 0 : i64} {
    %l = arith.constant dense<1.0> : tensor<f32>
    return %l, %head : tensor<f32>, tensor<16x4xf32>
  }
}

// -----

module attributes {matformer.max_positions = 8 : i64} {
  func.func @matc_forward_impl(%head: memref<16x4xf32> {matformer.weight = "lm_head.weight"}) {
    return
  }
  // expected-error @+1 {{argument 1 is not a weight of @matc_forward_impl}}
  func.func private @loss_0(%tokens: tensor<?xi32>, %other: tensor<4xf32> {matformer.weight = "other"})
      -> (tensor<f32>, tensor<4xf32>) attributes {matformer.gradients, matformer.granularity = 0 : i64} {
    %l = arith.constant dense<1.0> : tensor<f32>
    return %l, %other : tensor<f32>, tensor<4xf32>
  }
}

// -----

module attributes {matformer.max_positions = 8 : i64} {
  func.func @matc_forward_impl(%head: memref<16x4xf32> {matformer.weight = "lm_head.weight"}) {
    return
  }
  // expected-error @+1 {{needs matformer.granularity in [0, 1)}}
  func.func private @loss_3(%tokens: tensor<?xi32>, %head: tensor<16x4xf32> {matformer.weight = "lm_head.weight"})
      -> (tensor<f32>, tensor<16x4xf32>) attributes {matformer.gradients, matformer.granularity = 3 : i64} {
    %l = arith.constant dense<1.0> : tensor<f32>
    return %l, %head : tensor<f32>, tensor<16x4xf32>
  }
}
