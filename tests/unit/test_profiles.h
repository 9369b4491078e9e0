// Profiles built in code for the analyzer's tests, and a field-by-field
// comparison of two profiles.

#ifndef HEAPWATCH_TESTS_UNIT_TEST_PROFILES_H_
#define HEAPWATCH_TESTS_UNIT_TEST_PROFILES_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "analyzer/profile.h"

namespace heapwatch::testing {

// inuse_space/bytes, inuse_objects/count.
std::vector<ValueType> InuseTypes();
// Go's order: alloc_objects/count, alloc_space/bytes, inuse_objects/count, inuse_space/bytes.
std::vector<ValueType> GoHeapTypes();

// Builds profiles from stacks of function names, shaped like a symbolized
// native heap profile: one mapping for the program (/usr/bin/app at
// kAppStart), one function and one location per name, the n-th new name at
// kAppStart + 0x1000 * n + 0x10.
class ProfileBuilder {
 public:
  static constexpr uint64_t kAppStart = 0x555555554000;

  explicit ProfileBuilder(std::vector<ValueType> types);
  // Adds a sample with `stack` leaf first and one value per sample type.
  ProfileBuilder& Add(const std::vector<std::string>& stack, std::vector<int64_t> values);
  const Profile& profile() const { return profile_; }

 private:
  Profile profile_;
  absl::flat_hash_map<std::string, size_t> location_of_;
};

// Every field of the model set to something other than its default.
Profile FullProfile();

// `profile` with its function names gone (locations without lines), so
// frames can only be named by object + offset.
Profile WithoutFunctionNames(Profile profile);

// `profile` loaded `delta` bytes higher: every mapping and location address moved.
Profile Shifted(Profile profile, uint64_t delta);

// Adds a gtest failure for every field where `a` and `b` differ.
void ExpectProfilesEqual(const Profile& a, const Profile& b);

}  // namespace heapwatch::testing

#endif  // HEAPWATCH_TESTS_UNIT_TEST_PROFILES_H_
