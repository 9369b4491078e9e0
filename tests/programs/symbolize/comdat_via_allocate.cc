// Gather's copy that calls malloc through the inlined Allocate (see
// comdat_gather.h).
#define COMDAT_GATHER_VIA_ALLOCATE
#include "comdat_gather.h"

int* GatherViaAllocate(int count) { return Gather(count + 1); }
