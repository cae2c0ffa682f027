# Turns the text file IN into a C source OUT defining
#   const char ortho_schema_sql[];  (NUL-terminated)
# Run with cmake -P; used so the collector carries the schema it installs.
file(READ ${IN} content HEX)
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${content}")
file(WRITE ${OUT} "/* generated from schema/schema.sql: do not edit */\nconst char ortho_schema_sql[] = {${bytes}0x00};\n")
