// cxx_program.cc - a C++ program that check_shim.c runs with and without the
// preload and whose output must not change. It goes through every family of
// operator new/delete that the library replaces: plain and array (with the
// array cookie), sized delete through a virtual destructor (the size comes
// from the dynamic type), aligned new for alignas(256), a page and 2 MiB,
// nothrow new and a bad_alloc for an impossible size, then the standard
// containers (vector, string, map, unordered_map, shared_ptr) with a
// temporary above 16 MiB, and threads whose thread_local objects are
// destroyed at thread exit. It prints only values that do not depend on
// addresses, so any difference is the allocator's doing.
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <map>
#include <memory>
#include <new>
#include <numeric>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

namespace {

struct alignas(256) Aligned256 {
    unsigned char bytes[300];
};
struct alignas(4096) AlignedPage {
    unsigned char bytes[100];
};
struct alignas(2 * 1024 * 1024) AlignedTwoMiB {
    unsigned char bytes[64];
};

bool is_aligned(const void *p, std::size_t alignment)
{
    return reinterpret_cast<std::uintptr_t>(p) % alignment == 0;
}

struct Shape {
    virtual ~Shape() = default;
    virtual std::uint64_t weight() const = 0;
};
struct Dot : Shape {
    std::uint64_t w = 1;
    std::uint64_t weight() const override { return w; }
};
struct Slab : Shape {
    std::uint64_t cells[700];
    Slab() { std::iota(std::begin(cells), std::end(cells), 1); }
    std::uint64_t weight() const override
    {
        return std::accumulate(std::begin(cells), std::end(cells), std::uint64_t{0});
    }
};

struct Named {
    static int live;
    std::string name;
    Named() : name("named object with a name too long for the small string buffer") { live++; }
    ~Named() { live--; }
};
int Named::live = 0;

thread_local std::string thread_label;
thread_local std::vector<int> thread_scratch;

std::uint64_t thread_work(int index)
{
    thread_label = "worker " + std::to_string(index) + std::string(100, '.');
    std::map<int, std::string> table;
    std::uint64_t sum = 0;
    for (int i = 0; i < 20000; i++) {
        thread_scratch.push_back(i * index);
        table[i % 997] += std::to_string(i * index);
        if (table[i % 997].size() > 40)
            table[i % 997].clear();
    }
    for (const auto &entry : table)
        sum += entry.first * entry.second.size();
    return sum + thread_scratch.size() + thread_label.size();
}

} // namespace

int main(int argc, char **argv)
{
    (void)argv;
    // An impossible size the compiler cannot see: 2^62 bytes.
    volatile std::size_t impossible = std::size_t{1} << (60 + (argc > 0 ? 2 : 0));

    int *one = new int(42);
    int *many = new int[1000]();
    Named *named = new Named[17];
    std::printf("new/delete: %d %d live=%d\n", *one, many[999], Named::live);
    delete one;
    delete[] many;
    delete[] named;
    std::printf("after delete[]: live=%d\n", Named::live);

    std::vector<std::unique_ptr<Shape>> shapes;
    for (int i = 0; i < 50; i++) {
        if (i % 3 == 0)
            shapes.push_back(std::make_unique<Slab>());
        else
            shapes.push_back(std::make_unique<Dot>());
    }
    std::uint64_t weight = 0;
    for (const auto &shape : shapes)
        weight += shape->weight();
    shapes.clear(); // sized delete with the dynamic type's size
    std::printf("polymorphic weight: %llu\n", static_cast<unsigned long long>(weight));

    auto *a256 = new Aligned256;
    auto *a256s = new Aligned256[9];
    auto *page = new AlignedPage;
    auto *huge = new AlignedTwoMiB;
    std::printf("aligned new: 256=%d 256[]=%d page=%d 2MiB=%d\n", is_aligned(a256, 256),
                is_aligned(a256s, 256), is_aligned(page, 4096), is_aligned(huge, 2u << 20));
    delete a256;
    delete[] a256s;
    delete page;
    delete huge;

    void *refused = ::operator new(impossible, std::nothrow);
    std::printf("nothrow new of 2^62 bytes: %s\n", refused == nullptr ? "nullptr" : "a block");
    try {
        void *never = ::operator new(impossible);
        std::printf("new of 2^62 bytes returned %p\n", never);
    } catch (const std::bad_alloc &) {
        std::printf("new of 2^62 bytes: bad_alloc\n");
    }

    std::vector<int> ints;
    for (int i = 0; i < 1000000; i++)
        ints.push_back(i % 1013);
    std::vector<double> big(3000000, 0.5); // 24 MB: the large path
    for (std::size_t i = 0; i < big.size(); i += 1000)
        big[i] = static_cast<double>(i % 7);
    double big_sum = std::accumulate(big.begin(), big.end(), 0.0);
    std::sort(ints.begin(), ints.end());
    std::printf("vector: %zu ints, median %d, big sum %.1f\n", ints.size(), ints[ints.size() / 2],
                big_sum);

    std::string text;
    for (int i = 0; i < 5000; i++)
        text += "word" + std::to_string(i % 37) + (i % 11 == 0 ? "\n" : " ");
    std::map<std::string, int> counts;
    std::unordered_map<std::string, int> hashed;
    std::string word;
    for (char c : text) {
        if (c == ' ' || c == '\n') {
            counts[word]++;
            hashed[word] += 2;
            word.clear();
        } else {
            word.push_back(c);
        }
    }
    std::printf("map: %zu words, word7=%d, unordered word7=%d, text %zu bytes\n", counts.size(),
                counts["word7"], hashed["word7"], text.size());

    auto shared = std::make_shared<std::vector<std::string>>(1000, std::string(50, 's'));
    std::weak_ptr<std::vector<std::string>> weak = shared;
    shared.reset();
    std::printf("shared_ptr released: %s\n", weak.expired() ? "yes" : "no");

    std::vector<std::uint64_t> results(4);
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; t++)
        threads.emplace_back([t, &results] { results[t] = thread_work(t + 1); });
    for (auto &thread : threads)
        thread.join();
    for (int t = 0; t < 4; t++)
        std::printf("thread %d: %llu\n", t + 1, static_cast<unsigned long long>(results[t]));
    return 0;
}
