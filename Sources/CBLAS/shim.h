// OpenBLAS's CBLAS interface plus its run-time queries (kernel name, threads).
#ifndef CBLAS_SHIM_H
#define CBLAS_SHIM_H
#include <cblas.h>

char *openblas_get_corename(void);
int openblas_get_num_threads(void);
void openblas_set_num_threads(int num_threads);
char *openblas_get_config(void);

#endif
