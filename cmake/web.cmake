# jobads_web: the HTTP server (civetweb, Debian's libcivetweb-dev), the JSON API,
# HTTP ingest, /metrics, and the dashboard's files embedded as byte arrays.
find_path(CIVETWEB_INCLUDE_DIR civetweb.h)
find_library(CIVETWEB_LIBRARY civetweb)
if(NOT CIVETWEB_INCLUDE_DIR OR NOT CIVETWEB_LIBRARY)
    message(FATAL_ERROR "civetweb not found: install libcivetweb-dev (scripts/bootstrap.sh)")
endif()

# The chart library comes from npm (scripts/web-setup.sh); without it the page
# still loads and says what to run, so a build never depends on the network.
set(JOBADS_ECHARTS "${CMAKE_SOURCE_DIR}/web/node_modules/echarts/dist/echarts.min.js"
    CACHE FILEPATH "echarts.min.js to embed in the dashboard")
if(EXISTS "${JOBADS_ECHARTS}")
    set(ECHARTS_FILE "${JOBADS_ECHARTS}")
else()
    message(WARNING "ECharts not found at ${JOBADS_ECHARTS}: the dashboard will have no charts "
                    "(run scripts/web-setup.sh, then build again)")
    set(ECHARTS_FILE "${CMAKE_SOURCE_DIR}/web/echarts-missing.js")
endif()

set(WEB_FILES ${CMAKE_SOURCE_DIR}/web/index.html ${CMAKE_SOURCE_DIR}/web/app.js
              ${CMAKE_SOURCE_DIR}/web/app.css ${ECHARTS_FILE})
set(WEB_NAMES web_index_html web_app_js web_app_css web_echarts_js)
string(REPLACE ";" "|" WEB_FILES_ARG "${WEB_FILES}")
string(REPLACE ";" "|" WEB_NAMES_ARG "${WEB_NAMES}")
add_custom_command(
    OUTPUT ${CMAKE_BINARY_DIR}/web_embed.c
    COMMAND ${CMAKE_COMMAND} -DOUT=${CMAKE_BINARY_DIR}/web_embed.c "-DNAMES=${WEB_NAMES_ARG}"
            "-DFILES=${WEB_FILES_ARG}" -P ${CMAKE_SOURCE_DIR}/cmake/embed_bin.cmake
    DEPENDS ${WEB_FILES} ${CMAKE_SOURCE_DIR}/cmake/embed_bin.cmake
    COMMENT "Embedding the dashboard"
    VERBATIM)
set_source_files_properties(${CMAKE_BINARY_DIR}/web_embed.c PROPERTIES COMPILE_OPTIONS "-w")

# The pure parts (query parameters, request bodies) stand alone for the fuzz targets.
add_library(jobads_web_pure STATIC src/web/params.c src/web/body.c)
target_link_libraries(jobads_web_pure PUBLIC jobads_core)

add_library(jobads_web STATIC
    src/web/server.c
    src/web/routes.c
    src/web/api.c
    src/web/ingest.c
    src/web/assets.c
    src/web/cache.c
    ${CMAKE_BINARY_DIR}/web_embed.c)
target_include_directories(jobads_web PRIVATE ${CIVETWEB_INCLUDE_DIR})
target_link_libraries(jobads_web PUBLIC jobads_web_pure jobads_core ${CIVETWEB_LIBRARY})
