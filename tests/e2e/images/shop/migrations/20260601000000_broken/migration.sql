-- Deliberately invalid: the release that carries it must fail its migration and not start.
CREATE TABLE "coupons" (
    "id" SERIAL NOT NULL,
    "code" TEXT NOT NULL
);

ALTER TABLEE "coupons" ADD CONSTRAINT "coupons_pkey" PRIMARY KEY ("id");
