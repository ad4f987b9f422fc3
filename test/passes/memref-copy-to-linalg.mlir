// RUN: matc-opt %s --matc-memref-copy-to-linalg | FileCheck %s
// RUN: matc-opt %s --matc-memref-copy-to-linalg --convert-linalg-to-loops --convert-scf-to-cf --expand-strided-metadata --lower-affine --finalize-memref-to-llvm --convert-arith-to-llvm --convert-cf-to-llvm --convert-func-to-llvm --reconcile-unrealized-casts | FileCheck %s --check-prefix=LLVM

// A strided copy (into a KV-cache slice) becomes loops, not a call into
// MLIR's runner-utils library.
// CHECK-LABEL: func.func @strided_copy
// CHECK-NOT: memref.copy
// CHECK: linalg.copy ins(%{{.*}} : memref<?x4xf32>) outs(%{{.*}} : memref<?x4xf32, strided<[8, 1], offset: ?>>)
// LLVM-NOT: memrefCopy
// LLVM: llvm.func @strided_copy
func.func @strided_copy(%src: memref<?x4xf32>, %dst: memref<?x4xf32, strided<[8, 1], offset: ?>>) {
  memref.copy %src, %dst : memref<?x4xf32> to memref<?x4xf32, strided<[8, 1], offset: ?>>
  return
}
