// RUN: matc-opt %s -split-input-file --matc-cpu-lower-attention --canonicalize | FileCheck %s

// Against the cache: grouped query heads [T, kv_heads, group, d]; scores as a
// contraction over d; causal softmax over positions s <= start + t (row max,
// exp, sum, normalize); PV reduces over the values' innermost positions.
// CHECK-LABEL: func.func @cached(
// CHECK-SAME: %[[Q:[a-z0-9]+]]: tensor<?x4x16xf32>, %[[K:[a-z0-9]+]]: tensor<?x2x16xf32>, %[[V:[a-z0-9]+]]: tensor<2x16x?xf32>, %[[START:[a-z0-9]+]]: index
// CHECK-NOT: matformer.
// CHECK: %[[GROUPED:.*]] = tensor.expand_shape %[[Q]] {{\[}}[0], [1, 2], [3]] {{.*}} into tensor<?x2x2x16xf32>
// CHECK: %[[SCORES:.*]] = linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction"]} ins(%[[GROUPED]], %[[K]] : tensor<?x2x2x16xf32>, tensor<?x2x16xf32>)
// CHECK: arith.mulf {{.*}} fastmath<reassoc,contract>
// CHECK: arith.addf {{.*}} fastmath<reassoc,contract>
// CHECK: linalg.generic {{.*}} ins(%[[SCORES]] :
// CHECK: arith.maximumf
// CHECK: %[[LAST:.*]] = arith.addi %[[START]]
// CHECK: arith.cmpi ule, %{{.*}}, %[[LAST]]
// CHECK: math.exp
// CHECK: arith.divf
// CHECK: %[[OUT:.*]] = linalg.generic {{.*}} ins(%{{.*}}, %[[V]] : tensor<2x2x?x?xf32>, tensor<2x16x?xf32>)
// CHECK: tensor.collapse_shape %[[OUT]] {{\[}}[0], [1, 2], [3]] : tensor<?x2x2x16xf32> into tensor<?x4x16xf32>
// CHECK-NOT: matformer.
func.func @cached(%q: tensor<?x4x16xf32>, %k: tensor<?x2x16xf32>, %v: tensor<2x16x?xf32>, %start: index) -> tensor<?x4x16xf32> {
  %o = matformer.causal_attention %q, %k, %v at %start scale(0.25)
      : tensor<?x4x16xf32>, tensor<?x2x16xf32>, tensor<2x16x?xf32>
  return %o : tensor<?x4x16xf32>
}

// -----

// Without a start position, row t sees positions [0, t]; the scale is the op's.
// CHECK-LABEL: func.func @uncached
// CHECK: arith.constant 1.250000e-01 : f32
// CHECK: arith.maximumf
// CHECK: %[[T:.*]] = linalg.index 2
// CHECK: %[[S:.*]] = linalg.index 3
// CHECK: arith.cmpi ule, %[[S]], %[[T]]
// CHECK-NOT: matformer.
func.func @uncached(%q: tensor<3x4x16xf32>, %k: tensor<3x4x16xf32>, %v: tensor<4x16x3xf32>) -> tensor<3x4x16xf32> {
  %o = matformer.causal_attention %q, %k, %v scale(0.125)
      : tensor<3x4x16xf32>, tensor<3x4x16xf32>, tensor<4x16x3xf32>
  return %o : tensor<3x4x16xf32>
}
