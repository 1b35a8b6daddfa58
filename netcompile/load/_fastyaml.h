/* What the C readers of netcompile.load._fastyaml share: the Python API, the position packing, and the
 * functions each reader gives the module (_fastyaml.c holds the module; _fastyaml_yaml.c reads plain
 * YAML documents against libyaml; _fastyaml_json.c reads JSON).
 */
#ifndef NETCOMPILE_FASTYAML_H
#define NETCOMPILE_FASTYAML_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>

/* A position as one int, line << 20 | column (column 1-based, capped at 20 bits), as
 * netcompile/load/source.py's pack(): YMap and YList keep their positions so. */
static inline long long fy_pack(long long line, long long column) {
    return (line << 20) | (column < 0xFFFFF ? column : 0xFFFFF);
}

/* documents(text, file, first_line, max_depth, YMap, YList, known[, starts, max_known, max_text]): _fastyaml_yaml.c */
PyObject *fy_documents(PyObject *module, PyObject *args);
/* nesting(text, max_depth, stop): _fastyaml_yaml.c */
PyObject *fy_nesting(PyObject *module, PyObject *args);
/* json_documents(text, file, first_line, max_depth, YMap, YList): _fastyaml_json.c */
PyObject *fy_json_documents(PyObject *module, PyObject *args);

#endif
