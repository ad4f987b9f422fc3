// RUN: matc-opt %s -split-input-file --matc-cpu-schedule-loops | FileCheck %s
// RUN: matc-opt %s -split-input-file --matc-cpu-schedule-loops="schedule=dynamic" | FileCheck %s --check-prefix=DYNAMIC
// RUN: not matc-opt %s -split-input-file --matc-cpu-schedule-loops="schedule=fastest" 2>&1 | FileCheck %s --check-prefix=BAD

// BAD: matc-cpu-schedule-loops: schedule must be static, dynamic or guided, got 'fastest'

// A kernel's loop (vector operations in its body) gets the schedule; the
// IR round-trips through the printer with it.
// CHECK-LABEL: func.func @kernel_loop
// CHECK: omp.wsloop schedule(guided) {
// CHECK-NEXT: omp.loop_nest
// CHECK: vector.fma
// DYNAMIC-LABEL: func.func @kernel_loop
// DYNAMIC: omp.wsloop schedule(dynamic) {
func.func @kernel_loop(%m: memref<?x8xf32>, %n: index) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  omp.parallel {
    omp.wsloop {
      omp.loop_nest (%i) : index = (%c0) to (%n) step (%c1) {
        %v = vector.load %m[%i, %c0] : memref<?x8xf32>, vector<8xf32>
        %f = vector.fma %v, %v, %v : vector<8xf32>
        vector.store %f, %m[%i, %c0] : memref<?x8xf32>, vector<8xf32>
        omp.yield
      }
    }
    omp.terminator
  }
  return
}

// -----

// A scalar (elementwise) loop keeps libomp's static default: no clause.
// CHECK-LABEL: func.func @elementwise_loop
// CHECK: omp.wsloop {
// CHECK-NOT: schedule
// DYNAMIC-LABEL: func.func @elementwise_loop
// DYNAMIC-NOT: schedule
func.func @elementwise_loop(%m: memref<?xf32>, %n: index) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  omp.parallel {
    omp.wsloop {
      omp.loop_nest (%i) : index = (%c0) to (%n) step (%c1) {
        %x = memref.load %m[%i] : memref<?xf32>
        %y = math.exp %x : f32
        memref.store %y, %m[%i] : memref<?xf32>
        omp.yield
      }
    }
    omp.terminator
  }
  return
}

// -----

// A schedule that is already there is kept.
// CHECK-LABEL: func.func @scheduled_loop
// CHECK: omp.wsloop schedule(static) {
// DYNAMIC-LABEL: func.func @scheduled_loop
// DYNAMIC: omp.wsloop schedule(static) {
func.func @scheduled_loop(%m: memref<?x8xf32>, %n: index) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  omp.parallel {
    omp.wsloop schedule(static) {
      omp.loop_nest (%i) : index = (%c0) to (%n) step (%c1) {
        %v = vector.load %m[%i, %c0] : memref<?x8xf32>, vector<8xf32>
        vector.store %v, %m[%i, %c0] : memref<?x8xf32>, vector<8xf32>
        omp.yield
      }
    }
    omp.terminator
  }
  return
}
