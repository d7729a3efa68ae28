-- CreateTable
CREATE TABLE "ExpectationSuite" (
    "id" TEXT NOT NULL,
    "featureGroupId" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "ingestionPolicy" TEXT NOT NULL,
    "expectations" JSONB NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "ExpectationSuite_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "ExpectationSuite_featureGroupId_key" ON "ExpectationSuite"("featureGroupId");

-- AddForeignKey
ALTER TABLE "ExpectationSuite" ADD CONSTRAINT "ExpectationSuite_featureGroupId_fkey" FOREIGN KEY ("featureGroupId") REFERENCES "FeatureGroup"("id") ON DELETE CASCADE ON UPDATE CASCADE;
