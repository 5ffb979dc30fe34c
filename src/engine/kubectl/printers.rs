//! Output formats: tables, `-o yaml|json|name|jsonpath`, ages.
