// The CPU back end compiles what the middle makes of the attention backward:
// the output is the LLVM dialect alone, the reductions over positions and
// heads run in one OpenMP team, their iterations shared out by the
// generated code (matc-cpu-share-iterations: static shares by thread
// number, the packed kernels' panels from a counter), and the exp is a
// polynomial.
// (test/unit/codegen/AttentionGradTest.cpp runs it against a reference.)
// RUN: matc-opt %s --matc-to-linalg --matc-cpu-backend -o %t.mlir
// RUN: FileCheck %s < %t.mlir
// RUN: not grep -E "func\.func|linalg\.|memref\.|scf\.|matformer\.|math\.exp" %t.mlir
// RUN: mlir-translate --mlir-to-llvmir %t.mlir -o /dev/null

// CHECK: llvm.func @attention_grad(
// CHECK: omp.parallel
// CHECK-DAG: llvm.call @__kmpc_bound_thread_num(
// CHECK-DAG: llvm.call @__kmpc_bound_num_threads(
// CHECK-DAG: llvm.atomicrmw add
// CHECK-DAG: omp.barrier
// CHECK-NOT: omp.wsloop
func.func @attention_grad(%q: tensor<?x4x8xf32>, %k: tensor<?x2x8xf32>, %v: tensor<2x8x?xf32>,
                          %do: tensor<?x4x8xf32>, %start: index)
    -> (tensor<?x4x8xf32>, tensor<?x2x8xf32>, tensor<2x8x?xf32>) {
  %dq, %dk, %dv = matformer.causal_attention_grad %q, %k, %v, %do at %start scale(0.25)
      : tensor<?x4x8xf32>, tensor<?x2x8xf32>, tensor<2x8x?xf32>, tensor<?x4x8xf32>
  return %dq, %dk, %dv : tensor<?x4x8xf32>, tensor<?x2x8xf32>, tensor<2x8x?xf32>
}
