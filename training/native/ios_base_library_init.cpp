// LibTorchSharp 0.107 is built with GCC 13, which emits a reference to std::ios_base_library_init()
// (GLIBCXX_3.4.32) from every translation unit that includes <iostream>. Debian 12's libstdc++ (GCC 12) predates
// that function; there, iostreams are initialised by constructing std::ios_base::Init. This shim gives the
// function exactly that meaning so LibTorchSharp loads against the older libstdc++.
#include <ios>

namespace std
{
    void ios_base_library_init()
    {
        static ios_base::Init init;
    }
}
