-- CreateTable
CREATE TABLE "ExpectationSuite" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "featureGroupId" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "ingestionPolicy" TEXT NOT NULL,
    "expectations" JSONB NOT NULL,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" DATETIME NOT NULL,
    CONSTRAINT "ExpectationSuite_featureGroupId_fkey" FOREIGN KEY ("featureGroupId") REFERENCES "FeatureGroup" ("id") ON DELETE CASCADE ON UPDATE CASCADE
);

-- CreateIndex
CREATE UNIQUE INDEX "ExpectationSuite_featureGroupId_key" ON "ExpectationSuite"("featureGroupId");
