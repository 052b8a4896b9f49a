// Every test process gets fake static AWS credentials and no instance metadata
// lookups, so an AWS call that a mock misses fails at once instead of leaving
// the machine.
process.env.AWS_EC2_METADATA_DISABLED = "true";
process.env.AWS_ACCESS_KEY_ID = "AKIAIOSFODNN7EXAMPLE";
process.env.AWS_SECRET_ACCESS_KEY = "test-secret-access-key-not-real";
process.env.AWS_REGION = "us-east-1";
delete process.env.AWS_PROFILE;
delete process.env.AWS_SESSION_TOKEN;
