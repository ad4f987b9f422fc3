//===- DerivativeInterface.cpp - reverse-mode derivatives of ops ----------===//
#include "matc/Dialect/DerivativeInterface.h"

#include "matc/Dialect/DerivativeInterface.cpp.inc"
