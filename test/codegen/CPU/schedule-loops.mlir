// RUN: matc-opt %s -split-input-file --matc-cpu-schedule-loops | FileCheck %s
// RUN: matc-opt %s -split-input-file --matc-cpu-schedule-loops="schedule=guided" | FileCheck %s --check-prefix=GUIDED
// RUN: not matc-opt %s -split-input-file --matc-cpu-schedule-loops="schedule=fastest" 2>&1 | FileCheck %s --check-prefix=BAD

// BAD: matc-cpu-schedule-loops: schedule must be static, dynamic or guided, got 'fastest'

// A packed kernel's loop (its panel buffer marked matc.packed_panel) gets
// the schedule; the IR round-trips through the printer with it.
// CHECK-LABEL: func.func @packed_kernel_loop
// CHECK: omp.wsloop schedule(dynamic) {
// CHECK-NEXT: omp.loop_nest
// CHECK: vector.fma
// GUIDED-LABEL: func.func @packed_kernel_loop
// GUIDED: omp.wsloop schedule(guided) {
func.func @packed_kernel_loop(%m: memref<?x8xf32>, %n: index) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  omp.parallel {
    omp.wsloop {
      omp.loop_nest (%i) : index = (%c0) to (%n) step (%c1) {
        %panel = memref.alloca() {matc.packed_panel} : memref<4x8xf32>
        %v = vector.load %panel[%c0, %c0] : memref<4x8xf32>, vector<8xf32>
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

// Other loops keep libomp's static default (no clause): an elementwise
// loop, and a vector kernel without a packed panel (the dot kernel of
// decode, attention).
// CHECK-LABEL: func.func @other_loops
// CHECK-NOT: schedule
// GUIDED-LABEL: func.func @other_loops
// GUIDED-NOT: schedule
func.func @other_loops(%m: memref<?xf32>, %v8: memref<?x8xf32>, %n: index) {
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
    omp.wsloop {
      omp.loop_nest (%i) : index = (%c0) to (%n) step (%c1) {
        %v = vector.load %v8[%i, %c0] : memref<?x8xf32>, vector<8xf32>
        %f = vector.fma %v, %v, %v : vector<8xf32>
        vector.store %f, %v8[%i, %c0] : memref<?x8xf32>, vector<8xf32>
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
// GUIDED-LABEL: func.func @scheduled_loop
// GUIDED: omp.wsloop schedule(static) {
func.func @scheduled_loop(%m: memref<?x8xf32>, %n: index) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  omp.parallel {
    omp.wsloop schedule(static) {
      omp.loop_nest (%i) : index = (%c0) to (%n) step (%c1) {
        %panel = memref.alloca() {matc.packed_panel} : memref<4x8xf32>
        %v = vector.load %panel[%c0, %c0] : memref<4x8xf32>, vector<8xf32>
        vector.store %v, %m[%i, %c0] : memref<?x8xf32>, vector<8xf32>
        omp.yield
      }
    }
    omp.terminator
  }
  return
}
