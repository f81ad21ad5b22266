-- Protobuf schemas import other subjects' versions (the Schema Registry's references). A
-- version keeps the references it was published with and a copy of every file they bring in
-- (referenced versions never change), both as JSON arrays.
ALTER TABLE schema_versions ADD COLUMN refs TEXT NOT NULL DEFAULT '[]';
ALTER TABLE schema_versions ADD COLUMN imports TEXT NOT NULL DEFAULT '[]';
