# Writes OUT, a C++ source defining cstor::apiserver::EmbeddedCrdManifests(), which returns
# the text of each *.yaml file in DIR, in name order. Run by add_custom_command at build time, so
# the binary carries deploy/crds and needs no files beside it.
file(GLOB FILES ${DIR}/*.yaml)
list(SORT FILES)
set(body "// Generated from deploy/crds by cmake/embed_files.cmake. Do not edit.\n")
string(APPEND body "#include \"apiserver/server.h\"\n\nnamespace cstor::apiserver {\n\n")
string(APPEND body "std::vector<std::string> EmbeddedCrdManifests() {\n  return {\n")
foreach(f ${FILES})
  file(READ ${f} text)
  string(APPEND body "      R\"cstor_embed(${text})cstor_embed\",\n")
endforeach()
string(APPEND body "  };\n}\n\n}  // namespace cstor::apiserver\n")
file(WRITE ${OUT}.tmp "${body}")
file(COPY_FILE ${OUT}.tmp ${OUT} ONLY_IF_DIFFERENT)
