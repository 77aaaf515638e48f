// ASSERT_OK / EXPECT_OK print the Status on failure.
#pragma once

#include <gtest/gtest.h>

#include "engine/status.h"

#define ASSERT_OK(expr)                                   \
  do {                                                    \
    const ::epistream::Status _st = (expr);               \
    ASSERT_TRUE(_st.ok()) << _st.ToString();              \
  } while (0)

#define EXPECT_OK(expr)                                   \
  do {                                                    \
    const ::epistream::Status _st = (expr);               \
    EXPECT_TRUE(_st.ok()) << _st.ToString();              \
  } while (0)
