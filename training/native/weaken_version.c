/* Marks one version requirement of a 64-bit ELF shared object as weak (VER_FLG_WEAK), so the dynamic loader no
 * longer refuses the object where that version is missing. Used on TorchSharp's native bridge together with its
 * shim (see patch-libtorchsharp.sh). Usage: weaken_version FILE VERSION. Exit 0 when done or already weak. */
#include <elf.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    if (argc != 3) { fprintf(stderr, "usage: weaken_version FILE VERSION\n"); return 2; }
    int fd = open(argv[1], O_RDWR);
    if (fd < 0) { perror(argv[1]); return 1; }
    struct stat st;
    if (fstat(fd, &st) != 0 || st.st_size < (off_t)sizeof(Elf64_Ehdr)) { fprintf(stderr, "%s: not an ELF file\n", argv[1]); return 1; }
    unsigned char *base = mmap(NULL, st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (base == MAP_FAILED) { perror("mmap"); return 1; }
    Elf64_Ehdr *eh = (Elf64_Ehdr *)base;
    if (memcmp(eh->e_ident, ELFMAG, SELFMAG) != 0 || eh->e_ident[EI_CLASS] != ELFCLASS64) { fprintf(stderr, "%s: not a 64-bit ELF file\n", argv[1]); return 1; }
    Elf64_Shdr *sh = (Elf64_Shdr *)(base + eh->e_shoff);
    int found = 0;
    for (int i = 0; i < eh->e_shnum; i++) {
        if (sh[i].sh_type != SHT_GNU_verneed) continue;
        const char *strings = (const char *)(base + sh[sh[i].sh_link].sh_offset);
        unsigned char *p = base + sh[i].sh_offset;
        for (;;) {
            Elf64_Verneed *need = (Elf64_Verneed *)p;
            unsigned char *a = p + need->vn_aux;
            for (int j = 0; j < need->vn_cnt; j++) {
                Elf64_Vernaux *aux = (Elf64_Vernaux *)a;
                if (strcmp(strings + aux->vna_name, argv[2]) == 0) { aux->vna_flags |= VER_FLG_WEAK; found = 1; }
                if (aux->vna_next == 0) break;
                a += aux->vna_next;
            }
            if (need->vn_next == 0) break;
            p += need->vn_next;
        }
    }
    msync(base, st.st_size, MS_SYNC);
    munmap(base, st.st_size);
    close(fd);
    if (!found) { fprintf(stderr, "%s: no requirement of version %s\n", argv[1], argv[2]); return 1; }
    return 0;
}
