// RUN: matc-opt %s -split-input-file --matc-cpu-promote-accumulators | FileCheck %s

// A row sum as convert-linalg-to-parallel-loops writes it: the accumulator
// is loaded and stored every iteration. It becomes the loop's iter_arg,
// loaded once before and stored once after; the round trip keeps the rest.
// CHECK-LABEL: func.func @row_sum
// CHECK: scf.parallel (%[[I:.*]]) =
// CHECK-NEXT: %[[INIT:.*]] = memref.load %arg1[%[[I]]]
// CHECK-NEXT: %[[SUM:.*]] = scf.for %[[J:.*]] = %{{.*}} to %{{.*}} step %{{.*}} iter_args(%[[ACC:.*]] = %[[INIT]]) -> (f32) {
// CHECK-NEXT: %[[X:.*]] = memref.load %arg0[%[[I]], %[[J]]]
// CHECK-NEXT: %[[SQ:.*]] = arith.mulf %[[X]], %[[X]]
// CHECK-NEXT: %[[NEXT:.*]] = arith.addf %[[ACC]], %[[SQ]] fastmath<reassoc>
// CHECK-NEXT: scf.yield %[[NEXT]]
// CHECK-NEXT: }
// CHECK-NEXT: memref.store %[[SUM]], %arg1[%[[I]]]
func.func @row_sum(%in: memref<?x?xf32>, %out: memref<?xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %rows = memref.dim %in, %c0 : memref<?x?xf32>
  %columns = memref.dim %in, %c1 : memref<?x?xf32>
  scf.parallel (%i) = (%c0) to (%rows) step (%c1) {
    scf.for %j = %c0 to %columns step %c1 {
      %x = memref.load %in[%i, %j] : memref<?x?xf32>
      %acc = memref.load %out[%i] : memref<?xf32>
      %sq = arith.mulf %x, %x : f32
      %next = arith.addf %acc, %sq fastmath<reassoc> : f32
      memref.store %next, %out[%i] : memref<?xf32>
    }
    scf.reduce
  }
  return
}

// -----

// Left alone: a store whose index changes in the loop (an elementwise
// loop), two stores, a loop that already carries values, and an
// accumulator that is also read at another element.
// CHECK-LABEL: func.func @not_accumulators
// CHECK-NOT: iter_args
// CHECK: scf.for {{.*}} iter_args
// CHECK-NOT: iter_args
// CHECK: return
func.func @not_accumulators(%in: memref<?xf32>, %out: memref<?xf32>, %n: index) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %zero = arith.constant 0.0 : f32
  scf.for %j = %c0 to %n step %c1 {
    %x = memref.load %in[%j] : memref<?xf32>
    memref.store %x, %out[%j] : memref<?xf32>
  }
  scf.for %j = %c0 to %n step %c1 {
    %x = memref.load %in[%j] : memref<?xf32>
    %acc = memref.load %out[%c0] : memref<?xf32>
    %next = arith.addf %acc, %x : f32
    memref.store %next, %out[%c0] : memref<?xf32>
    memref.store %x, %in[%j] : memref<?xf32>
  }
  %s = scf.for %j = %c0 to %n step %c1 iter_args(%a = %zero) -> (f32) {
    %acc = memref.load %out[%c0] : memref<?xf32>
    %next = arith.addf %acc, %a : f32
    memref.store %next, %out[%c0] : memref<?xf32>
    scf.yield %next : f32
  }
  scf.for %j = %c0 to %n step %c1 {
    %acc = memref.load %out[%c0] : memref<?xf32>
    %other = memref.load %out[%c1] : memref<?xf32>
    %next = arith.addf %acc, %other : f32
    memref.store %next, %out[%c0] : memref<?xf32>
  }
  return
}
