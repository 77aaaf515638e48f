#include "bench/city/region_catalog.h"

namespace epistream {
namespace {

// Hangzhou's districts, weights roughly by resident population.
constexpr WeightedRegion kHome[] = {
    {"330102", 1.3},  // Shangcheng
    {"330105", 1.1},  // Gongshu
    {"330106", 1.2},  // Xihu
    {"330108", 0.5},  // Binjiang
    {"330109", 2.0},  // Xiaoshan
    {"330110", 1.3},  // Yuhang
    {"330111", 0.8},  // Fuyang
    {"330112", 0.6},  // Lin'an
    {"330113", 1.1},  // Linping
    {"330114", 0.8},  // Qiantang
};

// Weight ~ travel volume to the city: rest of Zhejiang 3, Yangtze delta 2,
// big hubs 1.2-1.5, elsewhere 0.3-0.8.
constexpr WeightedRegion kDomestic[] = {
    {"330203", 3.0}, {"330212", 3.0},  // Ningbo Haishu, Yinzhou
    {"330302", 2.5},                   // Wenzhou Lucheng
    {"330402", 2.5},                   // Jiaxing Nanhu
    {"330502", 2.0},                   // Huzhou Wuxing
    {"330602", 2.5},                   // Shaoxing Yuecheng
    {"330702", 2.0}, {"330782", 2.5},  // Jinhua Wucheng, Yiwu
    {"310101", 1.5}, {"310104", 1.5}, {"310105", 1.0},
    {"310106", 1.5}, {"310107", 1.0}, {"310110", 1.0},
    {"310112", 1.5}, {"310115", 2.5},                   // Shanghai
    {"320102", 1.0}, {"320106", 1.0},                   // Nanjing
    {"320505", 1.0}, {"320506", 1.0}, {"320508", 1.2},  // Suzhou
    {"320211", 0.8},                                    // Wuxi
    {"321002", 0.5},                                    // Yangzhou
    {"340104", 1.0}, {"340111", 1.0},                   // Hefei
    {"360102", 0.8},                                    // Nanchang
    {"350102", 0.6}, {"350203", 0.8},                   // Fuzhou, Xiamen
    {"110101", 0.8}, {"110102", 0.8}, {"110105", 1.5},
    {"110106", 0.6}, {"110108", 1.2}, {"110114", 0.5},
    {"110115", 0.5},                                    // Beijing
    {"120101", 0.4}, {"120104", 0.4}, {"120116", 0.4},  // Tianjin
    {"440103", 0.5}, {"440106", 1.2}, {"440111", 0.8},  // Guangzhou
    {"440303", 0.6}, {"440304", 1.0}, {"440305", 1.2},  // Shenzhen
    {"440604", 0.4}, {"441900", 0.6},                   // Foshan, Dongguan
    {"370102", 0.5}, {"370202", 0.5},                   // Jinan, Qingdao
    {"410102", 0.4}, {"410105", 0.6},                   // Zhengzhou
    {"420102", 0.5}, {"420106", 0.6}, {"420111", 0.5},  // Wuhan
    {"430102", 0.5}, {"430104", 0.5},                   // Changsha
    {"500103", 0.6}, {"500105", 0.4},                   // Chongqing
    {"510104", 0.6}, {"510107", 0.7},                   // Chengdu
    {"610103", 0.4}, {"610113", 0.5},                   // Xi'an
    {"530102", 0.3},                                    // Kunming
    {"450103", 0.3},                                    // Nanning
    {"460108", 0.3}, {"460202", 0.5},                   // Haikou, Sanya
    {"520102", 0.3},                                    // Guiyang
    {"130102", 0.3},                                    // Shijiazhuang
    {"140105", 0.3},                                    // Taiyuan
    {"150102", 0.2},                                    // Hohhot
    {"210102", 0.3}, {"210202", 0.3},                   // Shenyang, Dalian
    {"220102", 0.2},                                    // Changchun
    {"230103", 0.3},                                    // Harbin
    {"620102", 0.2},                                    // Lanzhou
    {"630102", 0.1},                                    // Xining
    {"640104", 0.1},                                    // Yinchuan
    {"650102", 0.2}, {"650103", 0.1}, {"650104", 0.1},
    {"650105", 0.1},  // Urumqi
    {"540102", 0.1},  // Lhasa
};

constexpr WeightedRegion kPorts[] = {
    {"310115", 4.0},  // Shanghai Pudong
    {"440111", 2.0},  // Guangzhou Baiyun
    {"440305", 1.0},  // Shenzhen Nanshan
    {"110105", 1.0},  // Beijing Chaoyang
    {"510107", 0.8},  // Chengdu Wuhou
    {"350203", 0.6},  // Xiamen Siming
};

constexpr WeightedRegion kCountries[] = {
    {"US", 2.0}, {"GB", 1.0}, {"JP", 1.5}, {"KR", 1.5}, {"SG", 1.2},
    {"TH", 0.8}, {"MY", 0.8}, {"DE", 1.0}, {"FR", 0.7}, {"AU", 0.8},
    {"CA", 0.8}, {"AE", 0.5}, {"HK", 2.0}, {"MO", 0.5}, {"IT", 0.5},
    {"ES", 0.4}, {"NL", 0.4}, {"RU", 0.5},
};

}  // namespace

std::span<const WeightedRegion> RegionCatalog::HomeDistricts() { return kHome; }
std::span<const WeightedRegion> RegionCatalog::DomesticOrigins() {
  return kDomestic;
}
std::span<const WeightedRegion> RegionCatalog::EntryPorts() { return kPorts; }
std::span<const WeightedRegion> RegionCatalog::Countries() {
  return kCountries;
}

}  // namespace epistream
