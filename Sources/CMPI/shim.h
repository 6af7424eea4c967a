// Open MPI's C API (Debian: libopenmpi-dev; include and library paths from pkg-config ompi-c).
// MPI_COMM_WORLD, the datatypes, the reduction operations and MPI_IN_PLACE are macros that
// expand to addresses of library objects, which Swift cannot import: these inline functions
// return them.
#include <mpi.h>

static inline MPI_Comm nsde_mpi_comm_world(void) { return MPI_COMM_WORLD; }
static inline MPI_Datatype nsde_mpi_float(void) { return MPI_FLOAT; }
static inline MPI_Datatype nsde_mpi_double(void) { return MPI_DOUBLE; }
static inline MPI_Datatype nsde_mpi_byte(void) { return MPI_BYTE; }
static inline MPI_Datatype nsde_mpi_int64(void) { return MPI_INT64_T; }
static inline MPI_Datatype nsde_mpi_int(void) { return MPI_INT; }
static inline MPI_Op nsde_mpi_sum(void) { return MPI_SUM; }
static inline void *nsde_mpi_in_place(void) { return MPI_IN_PLACE; }
static inline int nsde_mpi_success(void) { return MPI_SUCCESS; }
static inline int nsde_mpi_proc_null(void) { return MPI_PROC_NULL; }
static inline MPI_Status *nsde_mpi_status_ignore(void) { return MPI_STATUS_IGNORE; }
