// main() of every compiled program, in its own library (libmatrt_main.a) so
// that programs embedding the runtime can link libmatrt.a with their own.

#include "matrt/ModelAbi.h"

int main(int argc, char **argv) { return matrt::runCompiledModel(argc, argv); }
