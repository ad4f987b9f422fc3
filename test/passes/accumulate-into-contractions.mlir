// RUN: matc-opt %s -split-input-file --matformer-accumulate-into-contractions | FileCheck %s
// RUN: matc-opt %s -split-input-file --matformer-accumulate-into-contractions --mlir-print-op-generic | matc-opt --split-input-file | FileCheck %s

#id = affine_map<(i, j) -> (i, j)>
#a = affine_map<(m, n, k) -> (m, k)>
#w = affine_map<(m, n, k) -> (n, k)>
#c = affine_map<(m, n, k) -> (m, n)>

// The residual add after a projection: the projection starts from the
// residual, its zero fill and the add are gone.
// CHECK-LABEL: func.func @residual_add
// CHECK-SAME: (%[[X:.*]]: tensor<?x8xf32>, %[[W:.*]]: tensor<8x4xf32>, %[[R:.*]]: tensor<?x8xf32>)
// CHECK-NOT: linalg.fill
// CHECK: %[[SUM:.*]] = linalg.generic
// CHECK-SAME: iterator_types = ["parallel", "parallel", "reduction"]
// CHECK-SAME: ins(%{{.*}}, %[[W]] : tensor<?x4xf32>, tensor<8x4xf32>) outs(%[[R]] : tensor<?x8xf32>)
// CHECK: arith.mulf
// CHECK: arith.addf
// CHECK-NOT: linalg.generic
// CHECK: return %[[SUM]]
func.func @residual_add(%x: tensor<?x8xf32>, %w: tensor<8x4xf32>, %r: tensor<?x8xf32>) -> tensor<?x8xf32> {
  %c0 = arith.constant 0 : index
  %zero = arith.constant 0.0 : f32
  %rows = tensor.dim %x, %c0 : tensor<?x8xf32>
  %a = tensor.extract_slice %x[0, 0] [%rows, 4] [1, 1] : tensor<?x8xf32> to tensor<?x4xf32>
  %empty = tensor.empty(%rows) : tensor<?x8xf32>
  %init = linalg.fill ins(%zero : f32) outs(%empty : tensor<?x8xf32>) -> tensor<?x8xf32>
  %p = linalg.generic {indexing_maps = [#a, #w, #c], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%a, %w : tensor<?x4xf32>, tensor<8x4xf32>) outs(%init : tensor<?x8xf32>) {
  ^bb0(%in: f32, %in_1: f32, %out: f32):
    %m = arith.mulf %in, %in_1 : f32
    %s = arith.addf %out, %m : f32
    linalg.yield %s : f32
  } -> tensor<?x8xf32>
  %sum = linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%r, %p : tensor<?x8xf32>, tensor<?x8xf32>) outs(%r : tensor<?x8xf32>) {
  ^bb0(%in: f32, %in_1: f32, %out: f32):
    %s = arith.addf %in, %in_1 : f32
    linalg.yield %s : f32
  } -> tensor<?x8xf32>
  return %sum : tensor<?x8xf32>
}

// -----

#id = affine_map<(i, j) -> (i, j)>

// dX = dY2 W2 + dY1 W1 (named matmuls): the add's second operand, dY1 W1,
// accumulates into the first, which keeps its zero start.
// CHECK-LABEL: func.func @sum_of_products
// CHECK: %[[ZERO:.*]] = linalg.fill
// CHECK: %[[FIRST:.*]] = linalg.matmul ins(%arg2, %arg3 : tensor<4x8xf32>, tensor<8x16xf32>) outs(%[[ZERO]] : tensor<4x16xf32>)
// CHECK: %[[SECOND:.*]] = linalg.matmul ins(%arg0, %arg1 : tensor<4x8xf32>, tensor<8x16xf32>) outs(%[[FIRST]] : tensor<4x16xf32>)
// CHECK-NEXT: return %[[SECOND]]
func.func @sum_of_products(%dy1: tensor<4x8xf32>, %w1: tensor<8x16xf32>,
                           %dy2: tensor<4x8xf32>, %w2: tensor<8x16xf32>) -> tensor<4x16xf32> {
  %zero = arith.constant 0.0 : f32
  %empty = tensor.empty() : tensor<4x16xf32>
  %init = linalg.fill ins(%zero : f32) outs(%empty : tensor<4x16xf32>) -> tensor<4x16xf32>
  %p1 = linalg.matmul ins(%dy1, %w1 : tensor<4x8xf32>, tensor<8x16xf32>) outs(%init : tensor<4x16xf32>) -> tensor<4x16xf32>
  %p2 = linalg.matmul ins(%dy2, %w2 : tensor<4x8xf32>, tensor<8x16xf32>) outs(%init : tensor<4x16xf32>) -> tensor<4x16xf32>
  %sum = linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%p2, %p1 : tensor<4x16xf32>, tensor<4x16xf32>) outs(%empty : tensor<4x16xf32>) {
  ^bb0(%in: f32, %in_1: f32, %out: f32):
    %s = arith.addf %in_1, %in : f32
    linalg.yield %s : f32
  } -> tensor<4x16xf32>
  return %sum : tensor<4x16xf32>
}

// -----

#id = affine_map<(i, j) -> (i, j)>

// Left alone: a product with another use (its value alone is needed), one
// that starts from something other than zero, and an add of two tensors
// neither of which is a product.
// CHECK-LABEL: func.func @not_folded
// CHECK: %[[ONES:.*]] = linalg.fill
// CHECK: linalg.matmul {{.*}} outs(%[[ONES]]
// CHECK-COUNT-2: arith.addf %in
// CHECK-LABEL: func.func @product_used_twice
// CHECK: %[[ZERO:.*]] = linalg.fill
// CHECK: %[[P:.*]] = linalg.matmul {{.*}} outs(%[[ZERO]]
// CHECK: ins(%arg2, %[[P]] :
// CHECK: arith.addf %in
func.func @not_folded(%a: tensor<4x8xf32>, %b: tensor<8x16xf32>, %r: tensor<4x16xf32>)
    -> (tensor<4x16xf32>, tensor<4x16xf32>, tensor<4x16xf32>) {
  %one = arith.constant 1.0 : f32
  %empty = tensor.empty() : tensor<4x16xf32>
  %ones = linalg.fill ins(%one : f32) outs(%empty : tensor<4x16xf32>) -> tensor<4x16xf32>
  %p = linalg.matmul ins(%a, %b : tensor<4x8xf32>, tensor<8x16xf32>) outs(%ones : tensor<4x16xf32>) -> tensor<4x16xf32>
  %s1 = linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%r, %p : tensor<4x16xf32>, tensor<4x16xf32>) outs(%empty : tensor<4x16xf32>) {
  ^bb0(%in: f32, %in_1: f32, %out: f32):
    %s = arith.addf %in, %in_1 : f32
    linalg.yield %s : f32
  } -> tensor<4x16xf32>
  %s2 = linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%r, %r : tensor<4x16xf32>, tensor<4x16xf32>) outs(%empty : tensor<4x16xf32>) {
  ^bb0(%in: f32, %in_1: f32, %out: f32):
    %s = arith.addf %in, %in_1 : f32
    linalg.yield %s : f32
  } -> tensor<4x16xf32>
  %q = func.call @product_used_twice(%a, %b, %r) : (tensor<4x8xf32>, tensor<8x16xf32>, tensor<4x16xf32>) -> tensor<4x16xf32>
  return %s1, %s2, %q : tensor<4x16xf32>, tensor<4x16xf32>, tensor<4x16xf32>
}
func.func @product_used_twice(%a: tensor<4x8xf32>, %b: tensor<8x16xf32>, %r: tensor<4x16xf32>) -> tensor<4x16xf32> {
  %zero = arith.constant 0.0 : f32
  %empty = tensor.empty() : tensor<4x16xf32>
  %init = linalg.fill ins(%zero : f32) outs(%empty : tensor<4x16xf32>) -> tensor<4x16xf32>
  %p = linalg.matmul ins(%a, %b : tensor<4x8xf32>, tensor<8x16xf32>) outs(%init : tensor<4x16xf32>) -> tensor<4x16xf32>
  %s = linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%r, %p : tensor<4x16xf32>, tensor<4x16xf32>) outs(%empty : tensor<4x16xf32>) {
  ^bb0(%in: f32, %in_1: f32, %out: f32):
    %s = arith.addf %in, %in_1 : f32
    linalg.yield %s : f32
  } -> tensor<4x16xf32>
  %t = arith.addf %s, %p : tensor<4x16xf32>
  return %t : tensor<4x16xf32>
}
