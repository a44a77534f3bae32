// libFuzzer's entry point for programs that have a main of their own
// (compiler-rt's FuzzerInterface.h). The fuzzing builds link libFuzzer
// (swiftc -sanitize=fuzzer); plain builds only see this declaration.
#pragma once
#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*UserCb)(const uint8_t *Data, size_t Size));
