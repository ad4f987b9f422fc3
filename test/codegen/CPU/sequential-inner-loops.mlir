// RUN: matc-opt %s -split-input-file --matc-cpu-sequential-inner-loops | FileCheck %s

// An elementwise nest: the rows stay parallel, the unit-stride columns
// become a sequential loop with the same bounds, and the body indexes with
// both induction variables.
// CHECK-LABEL: func.func @elementwise
// CHECK: scf.parallel (%[[I:.*]]) = (%{{.*}}) to (%{{.*}}) step (%{{.*}}) {
// CHECK-NEXT: scf.for %[[J:.*]] = %{{.*}} to %{{.*}} step %{{.*}} {
// CHECK-NEXT: memref.load %{{.*}}[%[[I]], %[[J]]]
// CHECK-NEXT: math.exp
// CHECK-NEXT: memref.store %{{.*}}, %{{.*}}[%[[I]], %[[J]]]
// CHECK-NOT: scf.parallel
func.func @elementwise(%in: memref<?x?xf32>, %out: memref<?x?xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %rows = memref.dim %in, %c0 : memref<?x?xf32>
  %columns = memref.dim %in, %c1 : memref<?x?xf32>
  scf.parallel (%i, %j) = (%c0, %c0) to (%rows, %columns) step (%c1, %c1) {
    %x = memref.load %in[%i, %j] : memref<?x?xf32>
    %e = math.exp %x : f32
    memref.store %e, %out[%i, %j] : memref<?x?xf32>
    scf.reduce
  }
  return
}

// -----

// One dimension: the only parallelism there is; left alone.
// CHECK-LABEL: func.func @one_dimension
// CHECK: scf.parallel
// CHECK-NOT: scf.for
func.func @one_dimension(%in: memref<?xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %n = memref.dim %in, %c0 : memref<?xf32>
  scf.parallel (%i) = (%c0) to (%n) step (%c1) {
    %x = memref.load %in[%i] : memref<?xf32>
    %y = arith.addf %x, %x : f32
    memref.store %y, %in[%i] : memref<?xf32>
    scf.reduce
  }
  return
}

// -----

// A register kernel (vector body) chooses its own parallel dimensions.
// CHECK-LABEL: func.func @vector_kernel
// CHECK: scf.parallel (%{{.*}}, %{{.*}}) =
// CHECK-NOT: scf.for
func.func @vector_kernel(%in: memref<?x?xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c8 = arith.constant 8 : index
  %rows = memref.dim %in, %c0 : memref<?x?xf32>
  scf.parallel (%i, %j) = (%c0, %c0) to (%rows, %c8) step (%c1, %c8) {
    %v = vector.load %in[%i, %j] : memref<?x?xf32>, vector<8xf32>
    vector.store %v, %in[%i, %c0] : memref<?x?xf32>, vector<8xf32>
    scf.reduce
  }
  return
}

// -----

// A parallel reduction (results) is left to the OpenMP lowering as it is.
// CHECK-LABEL: func.func @reduction
// CHECK: scf.parallel (%{{.*}}, %{{.*}}) = {{.*}} init
// CHECK-NOT: scf.for
func.func @reduction(%in: memref<?x?xf32>) -> f32 {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %zero = arith.constant 0.0 : f32
  %rows = memref.dim %in, %c0 : memref<?x?xf32>
  %columns = memref.dim %in, %c1 : memref<?x?xf32>
  %sum = scf.parallel (%i, %j) = (%c0, %c0) to (%rows, %columns) step (%c1, %c1) init (%zero) -> f32 {
    %x = memref.load %in[%i, %j] : memref<?x?xf32>
    scf.reduce(%x : f32) {
    ^bb0(%a: f32, %b: f32):
      %s = arith.addf %a, %b : f32
      scf.reduce.return %s : f32
    }
  }
  return %sum : f32
}

// -----

// Nested in a parallel loop (the kernels of a strip of
// matc-cpu-fuse-ffn-epilogue): every dimension of the inner loop becomes a
// sequential loop; the outer loop keeps the parallelism. The inner body's
// static stack buffer is allocated once, before the nest.
// CHECK-LABEL: func.func @nested
// CHECK: scf.parallel (%[[S:.*]]) =
// CHECK-NEXT: %[[PANEL:.*]] = memref.alloca() {matc.packed_panel} : memref<4x8xf32>
// CHECK-NEXT: scf.for %[[I:.*]] = %{{.*}} to %{{.*}} step %{{.*}} {
// CHECK-NEXT: scf.for %[[J:.*]] = %{{.*}} to %{{.*}} step %{{.*}} {
// CHECK-NEXT: memref.load %{{.*}}[%[[I]], %[[J]]]
// CHECK-NEXT: memref.store %{{.*}}, %[[PANEL]][%{{.*}}, %{{.*}}]
// CHECK-NEXT: memref.load %[[PANEL]]
// CHECK-NEXT: memref.store
// CHECK-NOT: memref.alloca
// CHECK: return
func.func @nested(%in: memref<?x?xf32>, %out: memref<?x?xf32>, %strips: index) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %rows = memref.dim %in, %c0 : memref<?x?xf32>
  %columns = memref.dim %in, %c1 : memref<?x?xf32>
  scf.parallel (%s) = (%c0) to (%strips) step (%c1) {
    scf.parallel (%i, %j) = (%c0, %c0) to (%rows, %columns) step (%c1, %c1) {
      %panel = memref.alloca() {matc.packed_panel} : memref<4x8xf32>
      %x = memref.load %in[%i, %j] : memref<?x?xf32>
      memref.store %x, %panel[%c0, %c0] : memref<4x8xf32>
      %y = memref.load %panel[%c0, %c0] : memref<4x8xf32>
      memref.store %y, %out[%i, %j] : memref<?x?xf32>
      scf.reduce
    }
    scf.reduce
  }
  return
}

// -----

// A nested loop whose body allocates a buffer of dynamic size on the stack
// is left alone (a sequential loop would grow the stack every iteration).
// CHECK-LABEL: func.func @nested_dynamic_alloca
// CHECK: scf.parallel
// CHECK: scf.parallel
// CHECK: memref.alloca(%{{.*}}) : memref<?xf32>
func.func @nested_dynamic_alloca(%out: memref<?xf32>, %n: index) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  scf.parallel (%s) = (%c0) to (%n) step (%c1) {
    scf.parallel (%i) = (%c0) to (%n) step (%c1) {
      %buffer = memref.alloca(%i) : memref<?xf32>
      %x = memref.load %buffer[%c0] : memref<?xf32>
      memref.store %x, %out[%i] : memref<?xf32>
      scf.reduce
    }
    scf.reduce
  }
  return
}
