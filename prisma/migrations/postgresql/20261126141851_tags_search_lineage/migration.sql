-- CreateTable
CREATE TABLE "CatalogEntry" (
    "id" TEXT NOT NULL,
    "projectId" TEXT NOT NULL,
    "kind" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "version" INTEGER NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,
    "deletedAt" TIMESTAMP(3),

    CONSTRAINT "CatalogEntry_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "LineageEdge" (
    "fromId" TEXT NOT NULL,
    "toId" TEXT NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "LineageEdge_pkey" PRIMARY KEY ("fromId","toId")
);

-- CreateTable
CREATE TABLE "TagSchema" (
    "id" TEXT NOT NULL,
    "projectId" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "description" TEXT NOT NULL DEFAULT '',
    "schema" JSONB NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "TagSchema_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "Tag" (
    "entryId" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "schemaId" TEXT NOT NULL,
    "value" JSONB NOT NULL,
    "valueKey" TEXT NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "Tag_pkey" PRIMARY KEY ("entryId","name")
);

-- CreateTable
CREATE TABLE "Keyword" (
    "entryId" TEXT NOT NULL,
    "keyword" TEXT NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "Keyword_pkey" PRIMARY KEY ("entryId","keyword")
);

-- CreateTable
CREATE TABLE "SearchDocument" (
    "id" SERIAL NOT NULL,
    "entryId" TEXT NOT NULL,
    "projectId" TEXT NOT NULL,
    "kind" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "version" INTEGER NOT NULL,
    "nameTerms" TEXT NOT NULL,
    "terms" TEXT NOT NULL,
    "fields" TEXT NOT NULL,
    "indexVersion" INTEGER NOT NULL,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "SearchDocument_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "CatalogEntry_projectId_kind_name_idx" ON "CatalogEntry"("projectId", "kind", "name");

-- CreateIndex
CREATE INDEX "LineageEdge_toId_idx" ON "LineageEdge"("toId");

-- CreateIndex
CREATE UNIQUE INDEX "TagSchema_projectId_name_key" ON "TagSchema"("projectId", "name");

-- CreateIndex
CREATE INDEX "Tag_schemaId_idx" ON "Tag"("schemaId");

-- CreateIndex
CREATE INDEX "Tag_name_valueKey_idx" ON "Tag"("name", "valueKey");

-- CreateIndex
CREATE INDEX "Keyword_keyword_idx" ON "Keyword"("keyword");

-- CreateIndex
CREATE UNIQUE INDEX "SearchDocument_entryId_key" ON "SearchDocument"("entryId");

-- CreateIndex
CREATE INDEX "SearchDocument_projectId_kind_idx" ON "SearchDocument"("projectId", "kind");

-- AddForeignKey
ALTER TABLE "CatalogEntry" ADD CONSTRAINT "CatalogEntry_projectId_fkey" FOREIGN KEY ("projectId") REFERENCES "Project"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "LineageEdge" ADD CONSTRAINT "LineageEdge_fromId_fkey" FOREIGN KEY ("fromId") REFERENCES "CatalogEntry"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "LineageEdge" ADD CONSTRAINT "LineageEdge_toId_fkey" FOREIGN KEY ("toId") REFERENCES "CatalogEntry"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "TagSchema" ADD CONSTRAINT "TagSchema_projectId_fkey" FOREIGN KEY ("projectId") REFERENCES "Project"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Tag" ADD CONSTRAINT "Tag_entryId_fkey" FOREIGN KEY ("entryId") REFERENCES "CatalogEntry"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Tag" ADD CONSTRAINT "Tag_schemaId_fkey" FOREIGN KEY ("schemaId") REFERENCES "TagSchema"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Keyword" ADD CONSTRAINT "Keyword_entryId_fkey" FOREIGN KEY ("entryId") REFERENCES "CatalogEntry"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "SearchDocument" ADD CONSTRAINT "SearchDocument_entryId_fkey" FOREIGN KEY ("entryId") REFERENCES "CatalogEntry"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- Hand-written below this line. --------------------------------------------------------------

-- The catalog and lineage of what exists already (search documents are built on the next start).
INSERT INTO "CatalogEntry" ("id", "projectId", "kind", "name", "version", "updatedAt")
  SELECT "id", "projectId", 'FEATURE_GROUP', "name", "version", CURRENT_TIMESTAMP FROM "FeatureGroup";
INSERT INTO "CatalogEntry" ("id", "projectId", "kind", "name", "version", "updatedAt")
  SELECT "id", "projectId", 'FEATURE_VIEW', "name", "version", CURRENT_TIMESTAMP FROM "FeatureView";
INSERT INTO "CatalogEntry" ("id", "projectId", "kind", "name", "version", "updatedAt")
  SELECT td."id", v."projectId", 'TRAINING_DATASET', v."name" || '_' || v."version", td."version", CURRENT_TIMESTAMP
  FROM "TrainingDataset" td JOIN "FeatureView" v ON v."id" = td."featureViewId";
INSERT INTO "CatalogEntry" ("id", "projectId", "kind", "name", "version", "updatedAt")
  SELECT "id", "projectId", 'MODEL', "name", "version", CURRENT_TIMESTAMP FROM "Model";
INSERT INTO "LineageEdge" ("fromId", "toId") SELECT "featureGroupId", "featureViewId" FROM "FeatureViewGroup";
INSERT INTO "LineageEdge" ("fromId", "toId") SELECT "featureViewId", "id" FROM "TrainingDataset";
INSERT INTO "LineageEdge" ("fromId", "toId") SELECT "trainingDatasetId", "id" FROM "Model" WHERE "trainingDatasetId" IS NOT NULL;
INSERT INTO "LineageEdge" ("fromId", "toId") SELECT "featureViewId", "id" FROM "Model" WHERE "featureViewId" IS NOT NULL;

-- Full-text index of SearchDocument.terms, on the expression search queries use. An expression
-- index, which Prisma neither models nor diffs. The terms are tokens the application has
-- normalized already (one space between), so they become lexemes as they are, with no parser or
-- dictionary in between: exactly the tokens SQLite's FTS5 index holds.
CREATE INDEX "SearchDocument_terms_fts_idx" ON "SearchDocument" USING GIN (array_to_tsvector(string_to_array("terms", ' ')));
