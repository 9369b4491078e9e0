// Gather's copy that calls malloc itself (see comdat_gather.h).
#include "comdat_gather.h"

int* GatherDirect(int count) { return Gather(count); }
