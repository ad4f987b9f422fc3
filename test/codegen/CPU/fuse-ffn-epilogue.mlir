// RUN: matc-opt %s -split-input-file --matc-cpu-fuse-ffn-epilogue="columns=16" | FileCheck %s
// RUN: matc-opt %s -split-input-file --matc-cpu-fuse-ffn-epilogue="columns=16" -mlir-print-op-generic | matc-opt -split-input-file | FileCheck %s --check-prefix=ROUND
// RUN: not matc-opt %s -split-input-file --matc-cpu-fuse-ffn-epilogue="columns=0" 2>&1 | FileCheck %s --check-prefix=BAD

// BAD: matc-cpu-fuse-ffn-epilogue: columns must be positive, got 0

#x = affine_map<(m, n, k) -> (m, k)>
#w = affine_map<(m, n, k) -> (n, k)>
#c = affine_map<(m, n, k) -> (m, n)>
#id = affine_map<(m, n) -> (m, n)>

// SiLU(gate) * up at a dynamic width (an elastic layer): one loop over
// strips of 16 neurons; in each, both projections start from a zero strip
// of their own, read the strip's rows of their weight (nested prefixes stay
// views), and the epilogue writes the strip of the result. The whole-width
// projections are gone.
// CHECK-LABEL: func.func @silu_gate_up
// CHECK-SAME: (%[[X:.*]]: tensor<?x64xf32>, %[[WG:.*]]: tensor<?x64xf32>, %[[WU:.*]]: tensor<?x64xf32>)
// CHECK: %[[OUT:.*]] = tensor.empty(%{{.*}}, %{{.*}}) : tensor<?x?xf32>
// CHECK: %[[R:.*]] = scf.forall (%[[J:.*]]) = (0) to (%{{.*}}) step (16) shared_outs(%[[ACC:.*]] = %[[OUT]])
// CHECK: %[[N:.*]] = affine.min
// CHECK: %[[GW:.*]] = tensor.extract_slice %[[WG]][%[[J]], 0] [%[[N]], 64]
// CHECK: %[[GE:.*]] = tensor.empty(%{{.*}}, %[[N]]) : tensor<?x?xf32>
// CHECK: %[[GZ:.*]] = linalg.fill ins(%{{.*}} : f32) outs(%[[GE]]
// CHECK: %[[G:.*]] = linalg.generic {{.*}} ins(%{{.*}}, %[[GW]] : {{.*}}) outs(%[[GZ]]
// CHECK: %[[UW:.*]] = tensor.extract_slice %[[WU]][%[[J]], 0] [%[[N]], 64]
// CHECK: %[[U:.*]] = linalg.generic {{.*}} ins(%{{.*}}, %[[UW]] : {{.*}}) outs(
// CHECK: %[[SLOT:.*]] = tensor.extract_slice %[[ACC]][0, %[[J]]]
// CHECK: %[[H:.*]] = linalg.generic {{.*}} ins(%[[G]], %[[U]] : {{.*}}) outs(%[[SLOT]]
// CHECK: math.exp
// CHECK: scf.forall.in_parallel
// CHECK-NEXT: tensor.parallel_insert_slice %[[H]] into %[[ACC]][0, %[[J]]]
// CHECK: return %[[R]]
// CHECK-NOT: linalg.generic
// ROUND-LABEL: func.func @silu_gate_up
// ROUND: scf.forall
func.func @silu_gate_up(%x: tensor<?x64xf32>, %wg: tensor<?x64xf32>,
                        %wu: tensor<?x64xf32>) -> tensor<?x?xf32> {
  %c0 = arith.constant 0 : index
  %zero = arith.constant 0.0 : f32
  %one = arith.constant 1.0 : f32
  %t = tensor.dim %x, %c0 : tensor<?x64xf32>
  %m = tensor.dim %wg, %c0 : tensor<?x64xf32>
  %empty = tensor.empty(%t, %m) : tensor<?x?xf32>
  %fill = linalg.fill ins(%zero : f32) outs(%empty : tensor<?x?xf32>) -> tensor<?x?xf32>
  %gate = linalg.generic {indexing_maps = [#x, #w, #c],
                          iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%x, %wg : tensor<?x64xf32>, tensor<?x64xf32>) outs(%fill : tensor<?x?xf32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %p = arith.mulf %a, %b : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  } -> tensor<?x?xf32>
  %up = linalg.generic {indexing_maps = [#x, #w, #c],
                        iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%x, %wu : tensor<?x64xf32>, tensor<?x64xf32>) outs(%fill : tensor<?x?xf32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %p = arith.mulf %a, %b : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  } -> tensor<?x?xf32>
  %h = linalg.generic {indexing_maps = [#id, #id, #id],
                       iterator_types = ["parallel", "parallel"]}
      ins(%gate, %up : tensor<?x?xf32>, tensor<?x?xf32>) outs(%empty : tensor<?x?xf32>) {
  ^bb0(%g: f32, %u: f32, %o: f32):
    %n = arith.negf %g : f32
    %e = math.exp %n : f32
    %d = arith.addf %e, %one : f32
    %s = arith.divf %g, %d : f32
    %r = arith.mulf %s, %u : f32
    linalg.yield %r : f32
  } -> tensor<?x?xf32>
  return %h : tensor<?x?xf32>
}

// -----

#x = affine_map<(m, n, k) -> (m, k)>
#w = affine_map<(m, n, k) -> (n, k)>
#c = affine_map<(m, n, k) -> (m, n)>
#id = affine_map<(m, n) -> (m, n)>

// Left alone: the gate projection has another use (the backward keeps it),
// and a product of two projections that start from a non-zero value.
// CHECK-LABEL: func.func @not_fused
// CHECK-NOT: scf.forall
// CHECK: return
func.func @not_fused(%x: tensor<8x64xf32>, %wg: tensor<32x64xf32>,
                     %wu: tensor<32x64xf32>, %start: tensor<8x32xf32>)
    -> (tensor<8x32xf32>, tensor<8x32xf32>, tensor<8x32xf32>) {
  %zero = arith.constant 0.0 : f32
  %empty = tensor.empty() : tensor<8x32xf32>
  %fill = linalg.fill ins(%zero : f32) outs(%empty : tensor<8x32xf32>) -> tensor<8x32xf32>
  %gate = linalg.generic {indexing_maps = [#x, #w, #c],
                          iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%x, %wg : tensor<8x64xf32>, tensor<32x64xf32>) outs(%fill : tensor<8x32xf32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %p = arith.mulf %a, %b : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  } -> tensor<8x32xf32>
  %up = linalg.generic {indexing_maps = [#x, #w, #c],
                        iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%x, %wu : tensor<8x64xf32>, tensor<32x64xf32>) outs(%fill : tensor<8x32xf32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %p = arith.mulf %a, %b : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  } -> tensor<8x32xf32>
  %h = linalg.generic {indexing_maps = [#id, #id, #id],
                       iterator_types = ["parallel", "parallel"]}
      ins(%gate, %up : tensor<8x32xf32>, tensor<8x32xf32>) outs(%empty : tensor<8x32xf32>) {
  ^bb0(%g: f32, %u: f32, %o: f32):
    %r = arith.mulf %g, %u : f32
    linalg.yield %r : f32
  } -> tensor<8x32xf32>
  %gs = linalg.generic {indexing_maps = [#x, #w, #c],
                        iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%x, %wg : tensor<8x64xf32>, tensor<32x64xf32>) outs(%start : tensor<8x32xf32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %p = arith.mulf %a, %b : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  } -> tensor<8x32xf32>
  %us = linalg.generic {indexing_maps = [#x, #w, #c],
                        iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%x, %wu : tensor<8x64xf32>, tensor<32x64xf32>) outs(%start : tensor<8x32xf32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %p = arith.mulf %a, %b : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  } -> tensor<8x32xf32>
  %h2 = linalg.generic {indexing_maps = [#id, #id, #id],
                        iterator_types = ["parallel", "parallel"]}
      ins(%gs, %us : tensor<8x32xf32>, tensor<8x32xf32>) outs(%empty : tensor<8x32xf32>) {
  ^bb0(%g: f32, %u: f32, %o: f32):
    %r = arith.mulf %g, %u : f32
    linalg.yield %r : f32
  } -> tensor<8x32xf32>
  return %h, %gate, %h2 : tensor<8x32xf32>, tensor<8x32xf32>, tensor<8x32xf32>
}
