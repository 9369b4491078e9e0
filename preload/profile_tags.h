// Field numbers of profile.proto (package perftools.profiles), one per line
// with the field's shape, so checking them against proto/profile.proto is a
// line-by-line read. Tests encode with these and decode with the generated
// parser.

#ifndef HEAPWATCH_PRELOAD_PROFILE_TAGS_H_
#define HEAPWATCH_PRELOAD_PROFILE_TAGS_H_

namespace heapwatch::tags {

// message Profile
inline constexpr int kProfileSampleType = 1;          // repeated ValueType
inline constexpr int kProfileSample = 2;              // repeated Sample
inline constexpr int kProfileMapping = 3;             // repeated Mapping
inline constexpr int kProfileLocation = 4;            // repeated Location
inline constexpr int kProfileFunction = 5;            // repeated Function
inline constexpr int kProfileStringTable = 6;         // repeated string
inline constexpr int kProfileDropFrames = 7;          // int64 (string index)
inline constexpr int kProfileKeepFrames = 8;          // int64 (string index)
inline constexpr int kProfileTimeNanos = 9;           // int64
inline constexpr int kProfileDurationNanos = 10;      // int64
inline constexpr int kProfilePeriodType = 11;         // ValueType
inline constexpr int kProfilePeriod = 12;             // int64
inline constexpr int kProfileComment = 13;            // repeated int64 (string indices)
inline constexpr int kProfileDefaultSampleType = 14;  // int64 (string index)

// message ValueType
inline constexpr int kValueTypeType = 1;  // int64 (string index)
inline constexpr int kValueTypeUnit = 2;  // int64 (string index)

// message Sample
inline constexpr int kSampleLocationId = 1;  // repeated uint64 (packed)
inline constexpr int kSampleValue = 2;       // repeated int64 (packed)
inline constexpr int kSampleLabel = 3;       // repeated Label

// message Label
inline constexpr int kLabelKey = 1;      // int64 (string index)
inline constexpr int kLabelStr = 2;      // int64 (string index)
inline constexpr int kLabelNum = 3;      // int64
inline constexpr int kLabelNumUnit = 4;  // int64 (string index)

// message Mapping
inline constexpr int kMappingId = 1;               // uint64
inline constexpr int kMappingMemoryStart = 2;      // uint64
inline constexpr int kMappingMemoryLimit = 3;      // uint64
inline constexpr int kMappingFileOffset = 4;       // uint64
inline constexpr int kMappingFilename = 5;         // int64 (string index)
inline constexpr int kMappingBuildId = 6;          // int64 (string index)
inline constexpr int kMappingHasFunctions = 7;     // bool
inline constexpr int kMappingHasFilenames = 8;     // bool
inline constexpr int kMappingHasLineNumbers = 9;   // bool
inline constexpr int kMappingHasInlineFrames = 10; // bool

// message Location
inline constexpr int kLocationId = 1;         // uint64
inline constexpr int kLocationMappingId = 2;  // uint64
inline constexpr int kLocationAddress = 3;    // uint64
inline constexpr int kLocationLine = 4;       // repeated Line
inline constexpr int kLocationIsFolded = 5;   // bool

// message Line
inline constexpr int kLineFunctionId = 1;  // uint64
inline constexpr int kLineLine = 2;        // int64
inline constexpr int kLineColumn = 3;      // int64

// message Function
inline constexpr int kFunctionId = 1;          // uint64
inline constexpr int kFunctionName = 2;        // int64 (string index)
inline constexpr int kFunctionSystemName = 3;  // int64 (string index)
inline constexpr int kFunctionFilename = 4;    // int64 (string index)
inline constexpr int kFunctionStartLine = 5;   // int64

}  // namespace heapwatch::tags

#endif  // HEAPWATCH_PRELOAD_PROFILE_TAGS_H_
