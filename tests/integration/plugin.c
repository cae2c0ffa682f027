/* plugin.c - a tiny shared library that check_shim.c loads and unloads with
 * dlopen/dlclose. It allocates in its constructor, hands blocks to the
 * program and frees the program's blocks, and frees its own table in its
 * destructor (which dlclose runs): memory crosses the module boundary in
 * both directions, and blocks it made must stay valid after it is gone,
 * which is what real plugins (Python extensions, codecs) do. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PLUGIN_TABLE_ENTRIES 32

static char *plugin_table[PLUGIN_TABLE_ENTRIES];

__attribute__((constructor)) static void plugin_load(void)
{
    for (int i = 0; i < PLUGIN_TABLE_ENTRIES; i++) {
        plugin_table[i] = malloc((size_t)(i + 1) * 100);
        if (plugin_table[i] != NULL)
            memset(plugin_table[i], 'a' + i % 26, (size_t)(i + 1) * 100);
    }
}

__attribute__((destructor)) static void plugin_unload(void)
{
    for (int i = 0; i < PLUGIN_TABLE_ENTRIES; i++) {
        free(plugin_table[i]);
        plugin_table[i] = NULL;
    }
}

/* Number of table entries intact (all PLUGIN_TABLE_ENTRIES while loaded). */
int plugin_intact_entries(void);
int plugin_intact_entries(void)
{
    int intact = 0;
    for (int i = 0; i < PLUGIN_TABLE_ENTRIES; i++) {
        const char *entry = plugin_table[i];
        size_t size = (size_t)(i + 1) * 100;
        if (entry != NULL && entry[0] == 'a' + i % 26 && entry[size - 1] == 'a' + i % 26)
            intact++;
    }
    return intact;
}

/* A malloc'd string "plugin greeting <n>" the caller frees. */
char *plugin_make_greeting(int n);
char *plugin_make_greeting(int n)
{
    char *text = malloc(64);
    if (text != NULL)
        snprintf(text, 64, "plugin greeting %d", n);
    return text;
}

/* Frees a block the caller allocated. */
void plugin_release(void *p);
void plugin_release(void *p)
{
    free(p);
}
