/* The module netcompile.load._fastyaml: netcompile's C readers of plain YAML documents
 * (_fastyaml_yaml.c, against libyaml) and of JSON (_fastyaml_json.c). Types: _fastyaml.pyi.
 */
#include "_fastyaml.h"

static PyMethodDef methods[] = {
    {"nesting", fy_nesting, METH_VARARGS, "nesting(text, max_depth, stop) -> (line | None, column | None, deeper)"},
    {"documents", fy_documents, METH_VARARGS,
     "documents(text, file, first_line, max_depth, YMap, YList, known[, starts, max_known, max_text]) -> "
     "(documents, untyped) | None"},
    {"json_documents", fy_json_documents, METH_VARARGS,
     "json_documents(text, file, first_line, max_depth, YMap, YList) -> (documents, problems, syntax error)"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_fastyaml", "netcompile's C readers of plain YAML documents and of JSON", -1, methods, NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__fastyaml(void) { return PyModule_Create(&module); }
