-- CreateTable
CREATE TABLE "FeatureGroupStatistics" (
    "id" TEXT NOT NULL,
    "featureGroupId" TEXT NOT NULL,
    "commitId" TEXT,
    "computedAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "rowCount" INTEGER NOT NULL,
    "content" JSONB NOT NULL,

    CONSTRAINT "FeatureGroupStatistics_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "FeatureGroupStatistics_featureGroupId_computedAt_idx" ON "FeatureGroupStatistics"("featureGroupId", "computedAt");

-- CreateIndex
CREATE INDEX "FeatureGroupStatistics_featureGroupId_commitId_idx" ON "FeatureGroupStatistics"("featureGroupId", "commitId");

-- AddForeignKey
ALTER TABLE "FeatureGroupStatistics" ADD CONSTRAINT "FeatureGroupStatistics_featureGroupId_fkey" FOREIGN KEY ("featureGroupId") REFERENCES "FeatureGroup"("id") ON DELETE CASCADE ON UPDATE CASCADE;
