package segment

// SnakeCaseForTest exposes snakeCase to the external tests.
var SnakeCaseForTest = snakeCase
